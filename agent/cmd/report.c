/* gpubase report [-o FILE]: a support tarball. Everything a person helping with a GPU host asks
 * for first, in one file, collected read-only: the run's state and plan, `verify --json`, the
 * journal, the dpkg/apt logs, the container runtime's configuration and the loaded driver. No
 * credentials file is ever read (see the help); what a plan marks secret, every --var value and
 * every env: value are redacted. Files of the machine are opened without leaving the root, and only
 * regular files of bounded size are read (a FIFO or a device is never opened for reading). */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "base/log.h"
#include "host/confine.h"
#include "host/journal.h"
#include "host/tarball.h"
#include "checks/hgx.h"
#include "checks/program.h"
#include "plan/secret_vars.h"
#include "cmd/cmd.h"

const char cmd_report_help[] =
        "Writes a support tarball (tar.gz, mode 0600) to FILE, or to ./gpubase-report-HOST-TIME.tar.gz; `-o -`\n"
        "writes it to standard output. It reads, never changes, and runs no program but gpubase's own checks\n"
        "and `nvidia-smi -q` (a plan's command-succeeds checks are skipped; under --root the root's programs run\n"
        "only inside it: see verify --help).\n"
        "\n"
        "What it collects (paths under --root DIR when given):\n"
        "  state.json, host-actions.log  /var/lib/gpubase/ (the run, its steps, their errors)\n"
        "  verify.json              `gpubase verify --json` (with --plan of the run when its plan exists)\n"
        "  plan/                    the run's plan file as written, and `plan show` of it\n"
        "  journal.txt              the journal entries of gpubase and gpubase.service (not under --root)\n"
        "  dpkg.log, apt logs       /var/log/dpkg.log, /var/log/apt/term.log, /var/log/apt/history.log\n"
        "  runtime configuration    /etc/docker/daemon.json, /etc/containerd/conf.d/*.toml (drop-ins)\n"
        "  driver                   /proc/driver/nvidia/version, /sys/module/nvidia/version, `nvidia-smi -q`\n"
        "                           (nvidia-smi-q.txt, when nvidia-smi is there)\n"
        "  Fabric Manager           /var/log/fabricmanager.log (NVSwitch hosts)\n"
        "  system                   /etc/os-release, /proc/sys/kernel/osrelease, /etc/apt/preferences.d/*,\n"
        "                           /etc/modprobe.d/blacklist-nouveau.conf\n"
        "  README, MANIFEST         what was collected, what was skipped or missing and why\n"
        "\n"
        "Only regular files are read, at most 64 MiB each and 256 MiB in all; a link is followed only as it\n"
        "would be after chroot into the root (never out of it), and a FIFO, device or socket is skipped, not\n"
        "read. The MANIFEST says what was skipped and why.\n"
        "\n"
        "No credentials or keys are collected (~/.docker/config.json, /etc/apt/auth.conf*, private keys), not\n"
        "containerd's config.toml (it can hold registry passwords; verify.json says whether it imports the\n"
        "drop-ins), no apt sources (URIs can carry passwords), no environment. In everything it does collect,\n"
        "the values of the plan's `secret: true` variables, and every --var value and env: value of 4\n"
        "characters or more, are replaced by <redacted>. Files keep their modification times\n"
        "(runtime.restarted compares them).";

#define REPORT_FILE_MAX (64U * 1024U * 1024U)   /* one file */
#define REPORT_TOTAL_MAX (256U * 1024U * 1024U) /* all files of the machine together */
#define REPORT_JOURNAL_ENTRIES 10000U
/* --var and env: values shorter than this are not redacted: "1" or "595" would blank out every
 * version number (a secret is declared `secret: true`, which redacts it whatever its length) */
#define REPORT_REDACT_MIN 4

typedef struct Collector {
        Args *a;
        TarWriter *w;
        char *top;      /* directory every entry is under */
        Buf manifest;   /* one line per item */
        unsigned collected, missing;
        int error;      /* first archive write error */
        char *error_text;
        int root_fd;    /* the root (or /): every file of the machine is opened below it */
        uint64_t total; /* bytes of the machine's files read so far */
        char **secrets; /* what redact() replaces in everything added */
} Collector;

static void note(Collector *c, const char *status, const char *name, const char *fmt, ...) _printf_(4, 5);
static void note(Collector *c, const char *status, const char *name, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *what = xvasprintf(fmt, ap);
        va_end(ap);
        buf_printf(&c->manifest, "%-13s %-44s %s\n", status, name, what);
        if (streq(status, "missing") || streq(status, "not-collected") || streq(status, "skipped"))
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

/* add(), with every secret replaced (see the help) */
static int add_redacted(Collector *c, const char *name, const char *data, size_t len, uint64_t mtime) {
        size_t n = 0;
        _cleanup_free_ char *clean = redact(data, len, c->secrets, &n);
        return add(c, name, clean, n, mtime);
}

/* Opens path (absolute, as the machine names it) below root_fd without ever leaving it, as after
 * chroot (host/confine.h: openat2(RESOLVE_IN_ROOT), or the component walk without it); O_NONBLOCK:
 * opening a FIFO never waits for a writer. The report's only way to open a file of the machine. */
static int open_in_root(int root_fd, const char *path, int flags, int *ret_fd) {
        int fd = confine_open(root_fd, path, flags | O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
        if (fd < 0)
                return fd;
        *ret_fd = fd;
        return 0;
}

static const char *file_type_name(mode_t m) {
        return S_ISFIFO(m) ? "a FIFO" : S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device"
               : S_ISSOCK(m) ? "a socket" : S_ISDIR(m) ? "a directory" : "not a regular file";
}

/* Reads path of the machine, a regular file of at most REPORT_FILE_MAX bytes, into *ret. On
 * failure: -errno, and *ret_why says why in the MANIFEST's words (a link out of the root, a FIFO or
 * device, a file over the bound are skipped: 1). */
static int read_machine_file(Collector *c, const char *path, char **ret, size_t *ret_len, uint64_t *ret_mtime,
                             char **ret_why) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *shown = host_path(&c->a->host, path);
        struct stat st;
        int r = open_in_root(c->root_fd, path, 0, &fd);
        if (r == -ELOOP) {
                *ret_why = xasprintf("%s: too many symbolic links, not followed", shown);
                return 1;
        }
        if (r < 0) {
                *ret_why = xasprintf("%s: %s", shown, strerror(-r));
                return r;
        }
        if (fstat(fd, &st) < 0) {
                r = negative_errno();
                *ret_why = xasprintf("%s: %s", shown, strerror(-r));
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                *ret_why = xasprintf("%s: %s, not read (only regular files are collected)", shown, file_type_name(st.st_mode));
                return 1;
        }
        uint64_t left = REPORT_TOTAL_MAX > c->total ? REPORT_TOTAL_MAX - c->total : 0;
        size_t max = left < REPORT_FILE_MAX ? (size_t) left : REPORT_FILE_MAX;
        if ((uint64_t) st.st_size > max || (r = read_fd(fd, max, ret, ret_len)) == -EFBIG) {
                *ret_why = xasprintf("%s: %llu bytes, over the report's bound (%u MiB a file, %u MiB in all)", shown,
                                     (unsigned long long) st.st_size, REPORT_FILE_MAX >> 20, REPORT_TOTAL_MAX >> 20);
                return 1;
        }
        if (r < 0) {
                *ret_why = xasprintf("%s: %s", shown, strerror(-r));
                return r;
        }
        c->total += *ret_len;
        *ret_mtime = (uint64_t) st.st_mtime;
        return 0;
}

/* A file of the machine (under --root), as files/<path>. */
static void collect_file(Collector *c, const char *path) {
        _cleanup_free_ char *name = xasprintf("files%s", path), *data = NULL, *why = NULL;
        _cleanup_free_ char *shown = host_path(&c->a->host, path);
        size_t len = 0;
        uint64_t mtime = 0;
        int r = read_machine_file(c, path, &data, &len, &mtime, &why);
        if (r != 0) {
                note(c, r > 0 ? "skipped" : "missing", name, "%s", why);
                return;
        }
        if (add_redacted(c, name, data, len, mtime) == 0)
                note(c, "collected", name, "%s (%zu bytes)", shown, len);
}

/* Every regular file of a directory whose name ends in suffix ("" for all). */
static void collect_dir(Collector *c, const char *dir, const char *suffix) {
        _cleanup_free_ char *p = host_path(&c->a->host, dir), *pattern = xasprintf("files%s/*%s", dir, suffix);
        _cleanup_close_ int fd = -EBADF;
        int r = open_in_root(c->root_fd, dir, O_DIRECTORY, &fd);
        _cleanup_(closedirp) DIR *d = r < 0 ? NULL : fdopendir(fd);
        if (!d) {
                r = r < 0 ? r : negative_errno();
                note(c, r == -ELOOP || r == -EXDEV ? "skipped" : "missing", pattern, "%s: %s", p,
                     r == -ELOOP || r == -EXDEV ? "a link, not followed out of the root" : strerror(-r));
                return;
        }
        TAKE_FD(fd); /* the DIR owns it now */
        _cleanup_strv_free_ char **names = NULL;
        struct dirent *de;
        while ((de = readdir(d))) {
                size_t n = strlen(de->d_name), m = strlen(suffix);
                if (de->d_name[0] == '.' || n < m || !streq(de->d_name + n - m, suffix))
                        continue;
                strv_push(&names, xstrdup(de->d_name));
        }
        if (!names) {
                note(c, "missing", pattern, "%s holds no such file", p);
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
                   char **ret_stderr, int *ret_rc) {
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
                *(k ? ret_stderr : ret_out) = text;
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
        if (add_redacted(c, name, out, strlen(out), 0) == 0) /* NOLINT(clang-analyzer-core.NonNullParamChecker) */
                note(c, "generated", name, "%s (exit %d)", what, rc);
        if (!isempty(err)) {
                _cleanup_free_ char *ename = xasprintf("%s.stderr", name);
                if (add_redacted(c, ename, err, strlen(err), 0) == 0)
                        note(c, "generated", ename, "what %s printed on stderr", what);
        }
}

/* ./gpubase-report-HOST-TIME.tar.gz; under --root HOST is the root's /etc/hostname, read inside it */
static char *report_default_name(Args *a, int root_fd) {
        char host[256] = "host";
        _cleanup_free_ char *hn = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        if (host_is_rooted(&a->host)) {
                if (open_in_root(root_fd, "/etc/hostname", 0, &fd) == 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
                    read_fd(fd, 4096, &hn, NULL) == 0) {
                        hn[strcspn(hn, "\n")] = 0;
                        if (!isempty(strip(hn)))
                                snprintf(host, sizeof host, "%s", strip(hn));
                }
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

/* verify, with the run's plan when it is still there */
static void collect_verify(Collector *c, const State *st, const char *plan) {
        Args sub = *c->a;
        sub.json = true;
        sub.plan = NULL;
        sub.vars = NULL;
        sub.verbose = 0;
        sub.no_programs = true;
        if (plan) {
                sub.plan = plan;
                sub.vars = st->vars;
        }
        _cleanup_free_ char *what = plan ? xasprintf("gpubase verify --json --plan %s", plan)
                                         : xstrdup("gpubase verify --json (no plan: no run, or its plan is gone)");
        collect_command(c, &sub, "verify.json", what, cmd_verify, 0, NULL);
}

/* the plan as written, and as gpubase reads it: only a file that loads as a plan (a state under
 * --root may name any file of the machine as its plan) */
static void collect_plan(Collector *c, const State *st, const char *plan, const char *why_not) {
        if (!plan) {
                note(c, "missing", "plan/", "%s", why_not);
                return;
        }
        const char *base = strrchr(plan, '/') ? strrchr(plan, '/') + 1 : plan;
        _cleanup_free_ char *data = NULL, *name = xasprintf("plan/%s", base);
        size_t len = 0;
        struct stat pst;
        int r = read_file(plan, PLAN_MAX_SIZE, &data, &len);
        if (r < 0)
                note(c, "missing", name, "%s: %s", plan, strerror(-r));
        else if (add_redacted(c, name, data, len, stat(plan, &pst) == 0 ? (uint64_t) pst.st_mtime : 0) == 0)
                note(c, "collected", name, "%s, the run's plan (%zu bytes)", plan, len);
        Args show = *c->a;
        show.vars = st->vars;
        char *pargv[] = {(char *) "show", (char *) plan, NULL};
        collect_command(c, &show, "plan/plan-show.txt", "gpubase plan show (the plan as gpubase reads it)", cmd_plan, 2,
                        pargv);
}

static void add_secret(Collector *c, const char *value, bool always) {
        if (value && (always ? *value : strlen(value) >= REPORT_REDACT_MIN) && !streq(value, REDACTED))
                strv_push(&c->secrets, xstrdup(value));
}

/* The run's state, read (like every file of the machine) without leaving the root; its --var
 * values are secrets from here on. NULL when there is none, or it is not a state. */
static State *read_state(Collector *c) {
        _cleanup_free_ char *data = NULL, *why = NULL;
        size_t len = 0;
        uint64_t mtime = 0;
        State *st = NULL;
        if (read_machine_file(c, GPUBASE_STATE_FILE, &data, &len, &mtime, &why) != 0)
                return NULL;
        c->total -= len; /* collect_file() reads it again, and counts it */
        if (state_parse(data, len, &st, NULL) < 0)
                return NULL;
        for (size_t i = 0; st->vars && st->vars[i]; i++)
                add_secret(c, strchr(st->vars[i], '=') ? strchr(st->vars[i], '=') + 1 : NULL, false);
        return st;
}

/* The run's plan when it still loads as one (NULL and *ret_why otherwise); its secret variables and
 * its env: values are secrets from here on. */
static Plan *load_run_plan(Collector *c, const State *st, char **ret_why) {
        Plan *p = NULL;
        SrcError err = {0};
        if (!st) {
                *ret_why = xstrdup("no run: no state file");
                return NULL;
        }
        if (!st->plan_path || access(st->plan_path, R_OK) < 0) {
                *ret_why = xstrdup("the run's plan file is gone");
                return NULL;
        }
        if (plan_load_with_vars(st->plan_path, &c->a->host, st->vars, &p, &err) < 0) {
                /* not the message: it may quote the file, which need not be a plan at all */
                *ret_why = xasprintf("%s does not load as a plan (`gpubase plan check` says why)", st->plan_path);
                src_error_done(&err);
                return NULL;
        }
        _cleanup_strv_free_ char **secret = plan_secret_values(p);
        for (size_t i = 0; secret && secret[i]; i++)
                add_secret(c, secret[i], true);
        for (size_t i = 0; p->env_values && p->env_values[i]; i++)
                add_secret(c, p->env_values[i], false);
        return p;
}

/* the journal: the real machine's only. Returns the README's line about it. */
static char *collect_journal(Collector *c) {
        if (host_is_rooted(&c->a->host)) {
                note(c, "not-collected", "journal.txt", "not collected under --root (the journal is the machine's, not the root's)");
                return xstrdup("journal.txt: not collected under --root (the journal belongs to the running machine, "
                               "not to the root directory).");
        }
        _cleanup_free_ char *text = NULL, *jerr = NULL;
        unsigned n = 0;
        int r = host_journal_gpubase(REPORT_JOURNAL_ENTRIES, &text, &n, &jerr);
        if (r < 0) {
                note(c, "missing", "journal.txt", "%s", jerr);
                return xasprintf("journal.txt: not collected: %s.", jerr);
        }
        if (add_redacted(c, "journal.txt", text, strlen(text), 0) == 0) {
                note(c, "collected", "journal.txt", "%u entries of gpubase and gpubase.service (at most %u)", n,
                     REPORT_JOURNAL_ENTRIES);
                return xasprintf("journal.txt: the last %u journal entries of gpubase and gpubase.service.", n);
        }
        return xstrdup("journal.txt: not collected.");
}

/* `nvidia-smi -q` as nvidia-smi-q.txt: every GPU's state, its fabric and ECC sections included */
static void collect_nvidia_smi(Collector *c) {
        char *args[] = {(char *) "-q", NULL};
        _cleanup_(exec_result_done) ExecResult res = {0};
        _cleanup_free_ char *not_run = NULL;
        int r = program_run(&c->a->host, "/usr/bin/nvidia-smi", "nvidia-smi", args, 60, &res, &not_run);
        if (r == 1)
                note(c, "not-collected", "nvidia-smi-q.txt", "%s", not_run);
        else if (r < 0 || res.exec_errno)
                note(c, "missing", "nvidia-smi-q.txt", "nvidia-smi: %s", strerror(r < 0 ? -r : res.exec_errno));
        else if (res.timed_out)
                note(c, "missing", "nvidia-smi-q.txt", "nvidia-smi -q did not finish within 60 s");
        else if (add_redacted(c, "nvidia-smi-q.txt", res.output ? res.output : "", res.output ? strlen(res.output) : 0,
                              0) == 0)
                note(c, "collected", "nvidia-smi-q.txt", "nvidia-smi -q%s, exit %d", program_where(&c->a->host),
                     res.status);
}

/* the files of the machine: apt and dpkg, the container runtime, the driver and the system */
static void collect_system(Collector *c) {
        collect_file(c, "/var/log/dpkg.log");
        collect_file(c, "/var/log/apt/term.log");
        collect_file(c, "/var/log/apt/history.log");
        collect_dir(c, "/etc/apt/preferences.d", "");

        collect_file(c, "/etc/docker/daemon.json");
        collect_dir(c, "/etc/containerd/conf.d", ".toml");

        collect_file(c, "/proc/driver/nvidia/version");
        collect_file(c, "/sys/module/nvidia/version");
        collect_file(c, "/etc/os-release");
        collect_file(c, "/proc/sys/kernel/osrelease");
        collect_file(c, "/etc/modprobe.d/blacklist-nouveau.conf");
        collect_file(c, FABRIC_MANAGER_LOG);
        collect_nvidia_smi(c);
}

/* README and MANIFEST last: they describe everything above */
static void add_readme_and_manifest(Collector *c, const char *stamp, const char *journal_note, bool with_plan) {
        const Host *h = &c->a->host;
        Buf readme = {0};
        buf_printf(&readme,
                   "gpubase support report\n\n"
                   "Made by gpubase %s on %s, %s.\n"
                   "Root: %s\n\n"
                   "MANIFEST lists every item: collected (a file of the machine, under files/ at its own path),\n"
                   "generated (the output of a gpubase command), missing (with the reason), skipped (not a\n"
                   "regular file, a link out of the root, or over the size bound: not read), not-collected.\n\n"
                   "Notes:\n"
                   "- %s\n"
                   "- verify.json is `gpubase verify --json`%s.\n"
                   "- No credentials files, no apt sources, not containerd's config.toml, no environment. The\n"
                   "  values of secret variables, and --var and env: values of 4 characters or more, read\n"
                   "  " REDACTED " everywhere (%u strings redacted).\n",
                   GPUBASE_VERSION, stamp, host_is_rooted(h) ? "under --root" : "on the running machine",
                   host_is_rooted(h) ? h->root : "/", journal_note,
                   with_plan ? ", run against the run's plan" : " without a plan",
                   c->secrets ? (unsigned) strv_length(c->secrets) : 0U);
        _cleanup_free_ char *readme_text = buf_steal(&readme);
        add(c, "README", readme_text, strlen(readme_text), 0);
        note(c, "generated", "README", "this report's description");
        _cleanup_free_ char *head = xasprintf("# gpubase report %s: %u collected or generated, %u missing or not collected\n",
                                              stamp, c->collected + 1, c->missing);
        Buf m = {0};
        buf_puts(&m, head);
        buf_append(&m, c->manifest.data, c->manifest.len);
        _cleanup_free_ char *mtext = buf_steal(&m);
        add(c, "MANIFEST", mtext, strlen(mtext), 0);
}

static bool is_tarball_name(const char *out) {
        size_t n = strlen(out);
        return (n > 7 && streq(out + n - 7, ".tar.gz")) || (n > 4 && streq(out + n - 4, ".tgz"));
}

int cmd_report(Args *a, int argc _unused_, char **argv _unused_) {
        _cleanup_free_ char *out = NULL;
        _cleanup_(tar_writer_abortp) TarWriter *w = NULL;
        _cleanup_(state_freep) State *st = NULL;
        _cleanup_(plan_freep) Plan *plan = NULL;
        _cleanup_free_ char *err = NULL, *no_plan = NULL;
        int r;

        if (a->output && !streq(a->output, "-") && !is_tarball_name(a->output)) {
                log_error("the report is a .tar.gz: name it FILE.tar.gz (or -o - for standard output)");
                return EXIT_USAGE;
        }
        _cleanup_close_ int root_fd = open(host_is_rooted(&a->host) ? a->host.root : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0) {
                log_error("cannot open %s: %m", host_is_rooted(&a->host) ? a->host.root : "/");
                return EXIT_FAILED;
        }
        out = a->output ? xstrdup(a->output) : report_default_name(a, root_fd);
        r = tar_writer_open(out, 0600, &w, &err);
        if (r < 0) {
                log_error("%s", err);
                return EXIT_FAILED;
        }
        _cleanup_free_ char *stamp = format_timestamp(now_usec());
        Collector c = {.a = a, .w = w, .top = xstrdup("gpubase-report"), .root_fd = root_fd};

        /* the run: first everything that says what to redact, then what is collected */
        st = read_state(&c);
        plan = load_run_plan(&c, st, &no_plan);
        const char *plan_path = plan ? st->plan_path : NULL;
        collect_file(&c, GPUBASE_STATE_FILE);
        collect_file(&c, GPUBASE_ACTIONS_LOG);

        collect_verify(&c, st, plan_path);
        collect_plan(&c, st, plan_path, no_plan);
        _cleanup_free_ char *journal_note = collect_journal(&c);
        collect_system(&c);
        add_readme_and_manifest(&c, stamp, journal_note, plan_path);

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
                        printf("wrote %s: %u items collected, %u missing or skipped (see its MANIFEST)\n", out,
                               c.collected + 1, c.missing);
        }
        buf_done(&c.manifest);
        strv_free(c.secrets);
        free(c.top);
        free(c.error_text);
        return rc;
}
