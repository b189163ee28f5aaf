# split.awk: the wall time of the gpubase process and how much of it a program it started was
# running (dpkg, apt's methods, maintainer scripts, gpg...: any child that executed a program, from
# its fork to its exit; overlapping children count once). Prints "total_ms children_ms". Reads
# either trace of the same events:
#   perf script -F pid,time,event,trace  (of `perf record -e sched:sched_process_fork,
#                                        sched:sched_process_exec,sched:sched_process_exit`)
#   strace -f -ttt -e trace=execve,clone,clone3,fork,vfork -o FILE
{
        pid = $1
        t = $2 + 0
        if (!(pid in first)) first[pid] = t
        last[pid] = t
        if (main == "") main = pid
        if ($3 ~ /^sched:sched_process_/) { # perf: the kernel's tracepoints, no process stopped
                if ($3 ~ /fork:$/ && match($0, /child_pid=[0-9]+/))
                        born[substr($0, RSTART + 10, RLENGTH - 10) + 0] = t
                else if (match($0, / pid=[0-9]+/)) {
                        p = substr($0, RSTART + 5, RLENGTH - 5) + 0
                        if ($3 ~ /exec:$/ && p != main) execs[p] = 1
                        if ($3 ~ /exit:$/ && !(p in died)) died[p] = t
                }
                next
        }
        if ($0 ~ /(clone3?|v?fork)(\(| resumed>).*= [0-9]+$/) {
                n = split($0, w, "= ")
                born[w[n] + 0] = t
        }
        if ($3 ~ /^execve\(/ && pid != main) execs[pid] = 1
        if ($0 ~ /\+\+\+ (exited|killed)/) died[pid] = t
        # the parent hears of a child's end too (where strace's own exit line is missing)
        if ($0 ~ /--- SIGCHLD .*si_pid=[0-9]+/ && match($0, /si_pid=[0-9]+/)) {
                c = substr($0, RSTART + 7, RLENGTH - 7) + 0
                if (!(c in died)) died[c] = t
        }
}
END {
        k = 0
        for (p in execs) {
                s = (p in born) ? born[p] : first[p]
                e = (p in died) ? died[p] : last[p]
                k++
                S[k] = s
                E[k] = e
        }
        # sort the spans by start (insertion sort: a cold run starts tens of programs), then merge
        for (i = 2; i <= k; i++)
                for (j = i; j > 1 && S[j] < S[j - 1]; j--) {
                        x = S[j]; S[j] = S[j - 1]; S[j - 1] = x
                        x = E[j]; E[j] = E[j - 1]; E[j - 1] = x
                }
        busy = 0
        cs = ce = -1
        for (i = 1; i <= k; i++) {
                if (cs < 0 || S[i] > ce) {
                        if (cs >= 0) busy += ce - cs
                        cs = S[i]
                        ce = E[i]
                } else if (E[i] > ce)
                        ce = E[i]
        }
        if (cs >= 0) busy += ce - cs
        total = ((main in died) ? died[main] : last[main]) - first[main]
        printf "%.1f %.1f\n", total * 1000, busy * 1000
}
