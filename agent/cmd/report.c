/* gpubase report [-o FILE]: a support tarball. Everything a person helping with a GPU host asks
 * for first, in one file, collected read-only: the run's state and plan, `verify --json`, the
 * journal, the dpkg/apt logs, the container runtime's configuration and the loaded driver. It
 * collects nothing secret, so it redacts nothing: no credentials file is ever read (see the help). */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "base/log.h"
#include "host/journal.h"
#include "host/tarball.h"
#include "cmd/cmd.h"

const char cmd_report_help[] =
        "Writes a support tarball (tar.gz) to FILE, or to ./gpubase-report-HOST-TIME.tar.gz; `-o -` writes it\n"
        "to standard output. It reads, never changes, and runs no program but gpubase's own checks.\n"
        "\n"
        "What it collects (paths under --root DIR when given):\n"
        "  state.json, host-actions.log  /var/lib/gpubase/ (the run, its steps, their errors)\n"
        "  verify.json              `gpubase verify --json` (with --plan of the run when its plan exists)\n"
        "  plan/                    the run's plan file as written, and `plan show` of it\n"
        "  journal.txt              the journal entries of gpubase and gpubase.service (not under --root)\n"
        "  dpkg.log, apt logs       /var/log/dpkg.log, /var/log/apt/term.log, /var/log/apt/history.log\n"
        "  runtime configuration    /etc/docker/daemon.json, /etc/containerd/conf.d/*.toml (drop-ins)\n"
        "  driver                   /proc/driver/nvidia/version, /sys/module/nvidia/version\n"
        "  system                   /etc/os-release, /proc/sys/kernel/osrelease, /etc/apt/preferences.d/*,\n"
        "                           /etc/modprobe.d/blacklist-nouveau.conf\n"
        "  README, MANIFEST         what was collected, what was missing and why\n"
        "\n"
        "Nothing secret is collected, so nothing is redacted: no credentials or keys (~/.docker/config.json,\n"
        "/etc/apt/auth.conf*, private keys), not containerd's config.toml (it can hold registry passwords;\n"
        "verify.json says whether it imports the drop-ins), no apt sources (URIs can carry passwords), no\n"
        "environment. The plan is included as written: keep secrets out of plans. Files keep their\n"
        "modification times (runtime.restarted compares them).";

#define REPORT_FILE_MAX (64U * 1024U * 1024U)
#define REPORT_JOURNAL_ENTRIES 10000U

typedef struct Collector {
        Args *a;
        TarWriter *w;
        char *top;      /* directory every entry is under */
        Buf manifest;   /* one line per item */
        unsigned collected, missing;
        int error;      /* first archive write error */
        char *error_text;
} Collector;

static void note(Collector *c, const char *status, const char *name, const char *fmt, ...) _printf_(4, 5);
static void note(Collector *c, const char *status, const char *name, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *what = xvasprintf(fmt, ap);
        va_end(ap);
        buf_printf(&c->manifest, "%-13s %-44s %s\n", status, name, what);
        if (streq(status, "missing") || streq(status, "not-collected"))
                c->missing++;
        else
                c->collected++;
}

static int add(Collector *c, const char *name, const void *data, size_t len, uint64_t mtime) {
        if (c->error)
                return c->error;
        _cleanup_free_ char *full = xasprintf("%s/%s", c->top, name);
        char *err = NULL;
        int r = tar_writer_add_data(c->w, full, data, len, 0644, mtime, &err);
        if (r < 0) {
                c->error = r;
                c->error_text = err;
        }
        return r;
}

/* A file of the machine (under --root), as files/<path>. */
static void collect_file(Collector *c, const char *path) {
        _cleanup_free_ char *p = host_path(&c->a->host, path);
        _cleanup_free_ char *name = xasprintf("files%s", path);
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        struct stat st;
        int r = read_file(p, REPORT_FILE_MAX, &data, &len);
        if (r < 0) {
                note(c, "missing", name, "%s: %s", p, r == -EFBIG ? "larger than 64 MiB" : strerror(-r));
                return;
        }
        uint64_t mtime = stat(p, &st) == 0 ? (uint64_t) st.st_mtime : 0;
        if (add(c, name, data, len, mtime) == 0)
                note(c, "collected", name, "%s (%zu bytes)", p, len);
}

/* Every regular file of a directory whose name ends in suffix ("" for all). */
static void collect_dir(Collector *c, const char *dir, const char *suffix) {
        _cleanup_free_ char *p = host_path(&c->a->host, dir);
        _cleanup_(closedirp) DIR *d = opendir(p);
        if (!d) {
                int r = negative_errno();
                _cleanup_free_ char *name = xasprintf("files%s/*%s", dir, suffix);
                note(c, "missing", name, "%s: %s", p, strerror(-r));
                return;
        }
        _cleanup_strv_free_ char **names = NULL;
        struct dirent *de;
        while ((de = readdir(d))) {
                size_t n = strlen(de->d_name), m = strlen(suffix);
                if (de->d_name[0] == '.' || n < m || !streq(de->d_name + n - m, suffix))
                        continue;
                strv_push(&names, xstrdup(de->d_name));
        }
        if (!names) {
                _cleanup_free_ char *name = xasprintf("files%s/*%s", dir, suffix);
                note(c, "missing", name, "%s holds no such file", p);
                return;
        }
        qsort(names, strv_length(names), sizeof(char *), strcmp_ptr);
        for (size_t i = 0; names[i]; i++) {
                _cleanup_free_ char *f = xasprintf("%s/%s", dir, names[i]);
                collect_file(c, f);
        }
}

/* Runs one of gpubase's own commands in a child process with its stdout (and stderr) captured:
 * the same code as `gpubase verify --json`, kept apart from the report's own process. */
static int capture(Args *a, int (*fn)(Args *a, int argc, char **argv), int argc, char **argv, char **ret_out,
                   char **ret_err, int *ret_rc) {
        char out_t[] = "/tmp/gpubase-report-out.XXXXXX", err_t[] = "/tmp/gpubase-report-err.XXXXXX";
        _cleanup_close_ int ofd = mkostemp(out_t, O_CLOEXEC), efd = mkostemp(err_t, O_CLOEXEC);
        if (ofd < 0 || efd < 0)
                return negative_errno();
        (void) unlink(out_t);
        (void) unlink(err_t);
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0) {
                if (dup2(ofd, STDOUT_FILENO) < 0 || dup2(efd, STDERR_FILENO) < 0)
                        _exit(127);
                int rc = fn(a, argc, argv);
                fflush(stdout);
                fflush(stderr);
                _exit(rc);
        }
        int status = 0;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        *ret_rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        for (int k = 0; k < 2; k++) {
                int fd = k ? efd : ofd;
                _cleanup_free_ char *path = xasprintf("/proc/self/fd/%d", fd);
                char *text = NULL;
                if (read_file(path, REPORT_FILE_MAX, &text, NULL) < 0)
                        text = xstrdup("");
                *(k ? ret_err : ret_out) = text;
        }
        return 0;
}

static void collect_command(Collector *c, Args *sub, const char *name, const char *what,
                            int (*fn)(Args *a, int argc, char **argv), int argc, char **argv) {
        _cleanup_free_ char *out = NULL, *err = NULL;
        int rc = 0;
        int r = capture(sub, fn, argc, argv, &out, &err, &rc);
        if (r < 0) {
                note(c, "missing", name, "%s could not run: %s", what, strerror(-r));
                return;
        }
        /* capture() fails only through negative_errno(), always < 0, and sets *ret_out when it succeeds;
         * clang 14's analyser cannot tell that -errno is negative when errno > 0 */
        if (add(c, name, out, strlen(out), 0) == 0) /* NOLINT(clang-analyzer-core.NonNullParamChecker) */
                note(c, "generated", name, "%s (exit %d)", what, rc);
        if (!isempty(err)) {
                _cleanup_free_ char *ename = xasprintf("%s.stderr", name);
                if (add(c, ename, err, strlen(err), 0) == 0)
                        note(c, "generated", ename, "what %s printed on stderr", what);
        }
}

static char *report_default_name(Args *a) {
        char host[256] = "host";
        _cleanup_free_ char *hp = host_path(&a->host, "/etc/hostname"), *hn = NULL;
        if (host_is_rooted(&a->host)) {
                if (read_line_file(hp, &hn) == 0 && !isempty(hn))
                        snprintf(host, sizeof host, "%s", hn);
        } else if (gethostname(host, sizeof host) < 0)
                snprintf(host, sizeof host, "host");
        for (char *s = host; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' ||
                      *s == '.'))
                        *s = '_';
        _cleanup_free_ char *ts = format_timestamp(now_usec());
        Buf b = {0};
        for (const char *t = ts; *t; t++)
                if (*t != '-' && *t != ':')
                        buf_append(&b, t, 1);
        _cleanup_free_ char *compact = buf_steal(&b);
        return xasprintf("gpubase-report-%s-%s.tar.gz", host, compact);
}

int cmd_report(Args *a, int argc _unused_, char **argv _unused_) {
        _cleanup_free_ char *out = a->output ? xstrdup(a->output) : report_default_name(a);
        _cleanup_(tar_writer_abortp) TarWriter *w = NULL;
        _cleanup_(state_freep) State *st = NULL;
        _cleanup_free_ char *err = NULL;
        int r;

        if (!streq(out, "-")) {
                size_t n = strlen(out);
                if (!(n > 7 && streq(out + n - 7, ".tar.gz")) && !(n > 4 && streq(out + n - 4, ".tgz"))) {
                        log_error("the report is a .tar.gz: name it FILE.tar.gz (or -o - for standard output)");
                        return EXIT_USAGE;
                }
        }
        r = tar_writer_open(out, &w, &err);
        if (r < 0) {
                log_error("%s", err);
                return EXIT_FAILED;
        }
        _cleanup_free_ char *stamp = format_timestamp(now_usec());
        Collector c = {.a = a, .w = w, .top = xstrdup("gpubase-report")};

        /* the run */
        collect_file(&c, GPUBASE_STATE_FILE);
        collect_file(&c, GPUBASE_ACTIONS_LOG);
        _cleanup_free_ char *state_path = state_file_path(a), *why = NULL;
        if (state_load(state_path, &st, &why) < 0)
                st = NULL;

        /* verify, with the run's plan when it is still there */
        Args sub = *a;
        sub.json = true;
        sub.plan = NULL;
        sub.vars = NULL;
        sub.verbose = 0;
        const char *plan = st && st->plan_path && access(st->plan_path, R_OK) == 0 ? st->plan_path : NULL;
        if (plan) {
                sub.plan = plan;
                sub.vars = st->vars;
        }
        _cleanup_free_ char *vwhat = plan ? xasprintf("gpubase verify --json --plan %s", plan)
                                          : xstrdup("gpubase verify --json (no plan: no run, or its plan is gone)");
        collect_command(&c, &sub, "verify.json", vwhat, cmd_verify, 0, NULL);

        /* the plan as written, and as gpubase reads it */
        if (plan) {
                const char *base = strrchr(plan, '/') ? strrchr(plan, '/') + 1 : plan;
                _cleanup_free_ char *data = NULL, *name = xasprintf("plan/%s", base);
                size_t len = 0;
                struct stat pst;
                r = read_file(plan, PLAN_MAX_SIZE, &data, &len);
                if (r < 0)
                        note(&c, "missing", name, "%s: %s", plan, strerror(-r));
                else if (add(&c, name, data, len, stat(plan, &pst) == 0 ? (uint64_t) pst.st_mtime : 0) == 0)
                        note(&c, "collected", name, "%s, the run's plan (%zu bytes)", plan, len);
                Args show = *a;
                show.vars = st->vars;
                char *pargv[] = {(char *) "show", (char *) plan, NULL};
                collect_command(&c, &show, "plan/plan-show.txt", "gpubase plan show (the plan as gpubase reads it)",
                                cmd_plan, 2, pargv);
        } else
                note(&c, "missing", "plan/", "%s", st ? "the run's plan file is gone" : "no run: no state file");

        /* the journal: the real machine's only */
        const char *journal_note;
        _cleanup_free_ char *jnote = NULL;
        if (host_is_rooted(&a->host)) {
                note(&c, "not-collected", "journal.txt", "not collected under --root (the journal is the machine's, not the root's)");
                journal_note = "journal.txt: not collected under --root (the journal belongs to the running machine, "
                               "not to the root directory).";
        } else {
                _cleanup_free_ char *text = NULL, *jerr = NULL;
                unsigned n = 0;
                r = host_journal_gpubase(REPORT_JOURNAL_ENTRIES, &text, &n, &jerr);
                if (r < 0) {
                        note(&c, "missing", "journal.txt", "%s", jerr);
                        jnote = xasprintf("journal.txt: not collected: %s.", jerr);
                } else if (add(&c, "journal.txt", text, strlen(text), 0) == 0) {
                        note(&c, "collected", "journal.txt", "%u entries of gpubase and gpubase.service (at most %u)", n,
                             REPORT_JOURNAL_ENTRIES);
                        jnote = xasprintf("journal.txt: the last %u journal entries of gpubase and gpubase.service.", n);
                }
                journal_note = jnote ? jnote : "journal.txt: not collected.";
        }

        /* apt and dpkg */
        collect_file(&c, "/var/log/dpkg.log");
        collect_file(&c, "/var/log/apt/term.log");
        collect_file(&c, "/var/log/apt/history.log");
        collect_dir(&c, "/etc/apt/preferences.d", "");

        /* the container runtime */
        collect_file(&c, "/etc/docker/daemon.json");
        collect_dir(&c, "/etc/containerd/conf.d", ".toml");

        /* the driver and the system */
        collect_file(&c, "/proc/driver/nvidia/version");
        collect_file(&c, "/sys/module/nvidia/version");
        collect_file(&c, "/etc/os-release");
        collect_file(&c, "/proc/sys/kernel/osrelease");
        collect_file(&c, "/etc/modprobe.d/blacklist-nouveau.conf");

        /* README and MANIFEST last: they describe everything above */
        Buf readme = {0};
        buf_printf(&readme,
                   "gpubase support report\n\n"
                   "Made by gpubase %s on %s, %s.\n"
                   "Root: %s\n\n"
                   "MANIFEST lists every item: collected (a file of the machine, under files/ at its own path),\n"
                   "generated (the output of a gpubase command), missing (with the reason), not-collected.\n\n"
                   "Notes:\n"
                   "- %s\n"
                   "- verify.json is `gpubase verify --json`%s.\n"
                   "- Nothing secret is collected, so nothing was redacted: no credentials files, no apt sources,\n"
                   "  not containerd's config.toml, no environment. The plan is included as written.\n",
                   GPUBASE_VERSION, stamp, host_is_rooted(&a->host) ? "under --root" : "on the running machine",
                   host_is_rooted(&a->host) ? a->host.root : "/", journal_note,
                   plan ? ", run against the run's plan" : " without a plan");
        _cleanup_free_ char *readme_text = buf_steal(&readme);
        add(&c, "README", readme_text, strlen(readme_text), 0);
        note(&c, "generated", "README", "this report's description");
        _cleanup_free_ char *head = xasprintf("# gpubase report %s: %u collected or generated, %u missing or not collected\n",
                                              stamp, c.collected + 1, c.missing);
        Buf m = {0};
        buf_puts(&m, head);
        buf_append(&m, c.manifest.data, c.manifest.len);
        _cleanup_free_ char *mtext = buf_steal(&m);
        add(&c, "MANIFEST", mtext, strlen(mtext), 0);

        int rc = EXIT_OK;
        if (c.error) {
                log_error("%s", c.error_text);
                rc = EXIT_FAILED;
        } else {
                r = tar_writer_finish(TAKE_PTR(w), &err);
                if (r < 0) {
                        log_error("%s", err);
                        rc = EXIT_FAILED;
                } else if (!streq(out, "-"))
                        printf("wrote %s: %u items collected, %u missing (see its MANIFEST)\n", out, c.collected + 1,
                               c.missing);
        }
        buf_done(&c.manifest);
        free(c.top);
        free(c.error_text);
        return rc;
}
