/* host/exec: the run ends when the program exits; leftovers are named and killed (or kept with
 * detach); the output reaches the caller's callback; a timeout or stop_fd kills the group. */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "host/exec.h"
#include "tests.h"

static void collect(const char *data, size_t n, void *userdata) {
        buf_append(userdata, data, n);
}

/* Is pid gone (or a zombie waiting for a parent that does not reap)? */
static bool gone(pid_t pid) {
        char path[64], text[256] = {0};
        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return true;
        ssize_t n = read(fd, text, sizeof text - 1);
        close(fd);
        const char *p = n > 0 ? strrchr(text, ')') : NULL;
        return !p || p[2] == 'Z';
}

static bool gone_within_ms(pid_t pid, unsigned ms) {
        for (unsigned t = 0; t <= ms; t += 20) {
                if (gone(pid))
                        return true;
                usleep(20 * 1000);
        }
        return false;
}

static pid_t pid_in(const char *text) {
        const char *p = strstr(text, "bg=");
        return p ? (pid_t) atoi(p + 3) : 0;
}

START_TEST(test_exec_output_callback) {
        char *argv[] = {(char *) "sh", (char *) "-c", (char *) "echo one; echo two >&2", NULL};
        Buf seen = {0};
        ExecSpec spec = {.argv = argv, .output = collect, .userdata = &seen};
        ExecResult res = {0};
        ck_assert_int_eq(exec_run(&spec, &res), 0);
        ck_assert_int_eq(res.status, 0);
        ck_assert_ptr_null(res.leftover);
        _cleanup_free_ char *text = buf_steal(&seen);
        ck_assert_str_eq(text, "one\ntwo\n");
        ck_assert_str_eq(res.output, "one\ntwo\n");
        exec_result_done(&res);
}
END_TEST

START_TEST(test_exec_leftover_killed) {
        char *argv[] = {(char *) "sh", (char *) "-c", (char *) "sleep 15 & echo bg=$!", NULL};
        ExecSpec spec = {.argv = argv, .timeout_sec = 10};
        ExecResult res = {0};
        uint64_t t0 = mono_usec();
        ck_assert_int_eq(exec_run(&spec, &res), 0);
        ck_assert_uint_lt(mono_usec() - t0, 5000000ULL);
        ck_assert_int_eq(res.status, 0);
        ck_assert(!res.timed_out);
        pid_t bg = pid_in(res.output);
        ck_assert_int_gt(bg, 0);
        ck_assert_ptr_nonnull(res.leftover);
        /* named "sleep", or "sh" when the fork had not yet run sleep */
        _cleanup_free_ char *want = xasprintf(" (pid %d)", (int) bg);
        ck_assert_ptr_nonnull(strstr(res.leftover, want));
        ck_assert(gone_within_ms(bg, 3000));
        exec_result_done(&res);
}
END_TEST

START_TEST(test_exec_detach_keeps) {
        char *argv[] = {(char *) "sh", (char *) "-c", (char *) "sleep 15 & echo bg=$!", NULL};
        ExecSpec spec = {.argv = argv, .detach = true};
        ExecResult res = {0};
        ck_assert_int_eq(exec_run(&spec, &res), 0);
        pid_t bg = pid_in(res.output);
        ck_assert_int_gt(bg, 0);
        ck_assert_ptr_nonnull(res.leftover);
        usleep(200 * 1000);
        ck_assert(!gone(bg));
        kill(bg, SIGKILL);
        exec_result_done(&res);
}
END_TEST

START_TEST(test_exec_timeout_only_when_fired) {
        char *slow[] = {(char *) "sh", (char *) "-c", (char *) "sleep 15 & echo bg=$!; sleep 15", NULL};
        ExecSpec spec = {.argv = slow, .timeout_sec = 1};
        ExecResult res = {0};
        ck_assert_int_eq(exec_run(&spec, &res), 0);
        ck_assert(res.timed_out);
        pid_t bg = pid_in(res.output);
        ck_assert_int_gt(bg, 0);
        ck_assert(gone_within_ms(bg, 3000));
        exec_result_done(&res);

        char *quick[] = {(char *) "sh", (char *) "-c", (char *) "sleep 15 & exit 3", NULL};
        spec = (ExecSpec){.argv = quick, .timeout_sec = 2};
        ck_assert_int_eq(exec_run(&spec, &res), 0);
        ck_assert(!res.timed_out);
        ck_assert_int_eq(res.status, 3);
        _cleanup_free_ char *how = exec_describe(&spec, &res);
        ck_assert_ptr_null(strstr(how, "timed out"));
        exec_result_done(&res);
}
END_TEST

START_TEST(test_exec_stop_fd) {
        int p[2];
        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        ck_assert_int_eq(write(p[1], "x", 1), 1);
        char *argv[] = {(char *) "sleep", (char *) "15", NULL};
        ExecSpec spec = {.argv = argv, .stop_fd = p[0]};
        ExecResult res = {0};
        uint64_t t0 = mono_usec();
        ck_assert_int_eq(exec_run(&spec, &res), 0);
        ck_assert_uint_lt(mono_usec() - t0, 5000000ULL);
        ck_assert(res.stopped);
        ck_assert(!res.timed_out);
        ck_assert_int_eq(res.status, 128 + SIGTERM);
        exec_result_done(&res);
        close(p[0]);
        close(p[1]);
}
END_TEST

Suite *exec_suite(void) {
        Suite *s = suite_create("exec");
        TCase *tc = tcase_create("exec");
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_exec_output_callback);
        tcase_add_test(tc, test_exec_leftover_killed);
        tcase_add_test(tc, test_exec_detach_keeps);
        tcase_add_test(tc, test_exec_timeout_only_when_fired);
        tcase_add_test(tc, test_exec_stop_fd);
        suite_add_tcase(s, tc);
        return s;
}
