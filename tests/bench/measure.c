/* measure RUNS -- PROGRAM [ARGS...]: runs PROGRAM RUNS times, one after the other (stdout and stderr
 * to /dev/null), and prints one line: "median_ms min_ms max_ms peak_rss_kb exit_code cpu_ms".
 * Wall time from CLOCK_MONOTONIC around fork..wait4; peak RSS is the largest ru_maxrss wait4()
 * reported for the runs (the child's own high-water mark, in KiB); cpu_ms the median of the user
 * and system time wait4() reported (the program and its children). exit_code is the first run's;
 * a run that exits differently makes measure exit 1. Used by tests/bench/bench.sh. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
        if (argc < 4 || strcmp(argv[2], "--") != 0) {
                fprintf(stderr, "usage: measure RUNS -- PROGRAM [ARGS...]\n");
                return 64;
        }
        int runs = atoi(argv[1]);
        if (runs < 1 || runs > 10000)
                return 64;
        double *t = calloc((size_t) runs, sizeof(double)), *cpu = calloc((size_t) runs, sizeof(double));
        long peak = 0;
        int first_rc = -1, rc_differs = 0;
        for (int i = 0; i < runs; i++) {
                double t0 = now_ms();
                pid_t pid = fork();
                if (pid < 0) {
                        perror("fork");
                        return 1;
                }
                if (pid == 0) {
                        int null = open("/dev/null", O_WRONLY);
                        dup2(null, 1);
                        dup2(null, 2);
                        execvp(argv[3], argv + 3);
                        _exit(127);
                }
                int status;
                struct rusage ru;
                if (wait4(pid, &status, 0, &ru) < 0) {
                        perror("wait4");
                        return 1;
                }
                t[i] = now_ms() - t0;
                cpu[i] = (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
                         (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
                if (ru.ru_maxrss > peak)
                        peak = ru.ru_maxrss;
                int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                if (first_rc < 0)
                        first_rc = rc;
                else if (rc != first_rc)
                        rc_differs = 1;
        }
        qsort(t, (size_t) runs, sizeof(double), cmp_double);
        qsort(cpu, (size_t) runs, sizeof(double), cmp_double);
        double median = runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2;
        double cpu_median = runs % 2 ? cpu[runs / 2] : (cpu[runs / 2 - 1] + cpu[runs / 2]) / 2;
        printf("%.2f %.2f %.2f %ld %d %.2f\n", median, t[0], t[runs - 1], peak, first_rc, cpu_median);
        free(t);
        free(cpu);
        return rc_differs;
}
