#include "host/apt.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "host/bundle.h"
#include "host/dpkg.h"
#include "host/exec.h"

/* The directories apt and dpkg expect to exist in a root. */
static int prepare_root(const Host *h) {
        static const char *const dirs[] = {
                "/etc/apt/sources.list.d", "/etc/apt/preferences.d", "/etc/apt/apt.conf.d", "/etc/apt/trusted.gpg.d",
                "/var/lib/apt/lists/partial", "/var/cache/apt/archives/partial", "/var/lib/dpkg/info",
                "/var/lib/dpkg/updates", "/var/lib/dpkg/triggers", "/var/log/apt", "/usr/share/keyrings",
        };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_free_ char *p = host_path(h, dirs[i]);
                int r = mkdir_p(p, 0755);
                if (r < 0)
                        return r;
        }
        static const char *const files[] = {"/var/lib/dpkg/status", "/var/lib/dpkg/available"};
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *p = host_path(h, files[i]);
                struct stat st;
                if (stat(p, &st) == 0)
                        continue;
                remove_stale_temp_files(p); /* from an earlier run that was killed mid-write */
                int r = write_file_atomic(p, "", 0, 0644);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* run --bundle: the bundle's repositories are the session's only sources. */
static int write_bundle_sources(const Host *h, const char *tmpdir) {
        _cleanup_free_ char *outparts = xasprintf("%s/sources.list.d", tmpdir);
        _cleanup_free_ char *outlist = xasprintf("%s/sources.list", tmpdir);
        _cleanup_free_ char *text = bundle_sources_list(h->apt_bundle);
        int r = mkdir_p(outparts, 0755);
        if (r < 0)
                return r;
        return write_file_scratch(outlist, text, strlen(text), 0644);
}

static char *dpkg_lock_holder(const Host *h);

static void on_lock_wait(void *userdata, unsigned waited, unsigned timeout) {
        AptSession *s = userdata;
        _cleanup_free_ char *holder = dpkg_lock_holder(s->host);
        s->out.lock_wait(s->out.userdata, holder, waited, timeout);
}

/* APT_TERM_LOG in the root, for dpkg's output (0 when it cannot be opened: dpkg then writes to ours). */
static int open_term_log(const Host *h) {
        (void) host_mkdir_p(h, "/var/log/apt", 0755);
        int fd = host_open(h, APT_TERM_LOG, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0640);
        return fd > 0 ? fd : 0;
}

static void progress_done(const AptSession *s) {
        if (s->out.progress_done)
                s->out.progress_done(s->out.userdata);
}

static int open_shim(AptSession *s, const AptSessionOptions *o, char **reterr) {
        _cleanup_free_ char *list = NULL, *parts = NULL;
        if (s->tmpdir)
                rm_rf_tree(s->tmpdir);
        free(TAKE_PTR(s->tmpdir));
        /* with an offline bundle (run --bundle) its repositories are the only sources, and their
         * lists go to the scratch directory: the machine's own lists are left alone */
        bool bundle = s->host->apt_bundle != NULL;
        bool scratch = (o && o->scratch) || bundle;
        _cleanup_free_ char *scratchdir = NULL;
        if (scratch) {
                int r = apt_session_tmpdir(&s->tmpdir);
                if (r < 0)
                        return r;
                scratchdir = xasprintf("%s/scratch", s->tmpdir);
                static const char *const sub[] = {"/lists/partial", "/archives/partial"};
                for (size_t i = 0; i < ELEMENTSOF(sub) && r >= 0; i++) {
                        _cleanup_free_ char *d = xasprintf("%s%s", scratchdir, sub[i]);
                        r = mkdir_p(d, 0755);
                }
                if (r < 0)
                        return r;
        }
        if (o && o->no_lists) {
                int r = apt_sources_empty(&s->tmpdir, &list, &parts);
                if (r < 0)
                        return errorf(reterr, r, "cannot prepare empty sources in %s: %s", s->tmpdir, strerror(-r));
        } else if (o && o->only_sources) {
                /* the caller's sources alone (written with paths valid on this machine) */
                list = xasprintf("%s/sources.list", o->only_sources);
                parts = xasprintf("%s/sources.list.d/", o->only_sources);
        } else if (bundle) {
                int r = write_bundle_sources(s->host, s->tmpdir);
                if (r < 0)
                        return errorf(reterr, r, "cannot prepare the sources of the bundle %s: %s", s->host->apt_bundle,
                                      strerror(-r));
                list = xasprintf("%s/sources.list", s->tmpdir);
                parts = xasprintf("%s/sources.list.d/", s->tmpdir);
        } else if (host_is_rooted(s->host)) {
                /* NULL list and parts: nothing to rewrite, libapt reads the root's own sources */
                int r = apt_sources_rewrite(s->host, &s->tmpdir, &list, &parts);
                if (r < 0)
                        return errorf(reterr, r, "cannot prepare the sources of %s: %s", s->host->root, strerror(-r));
                s->root_sources = true;
        }
        s->own_sources = !(o && (o->no_lists || o->only_sources || o->scratch)) && !bundle;
        _cleanup_strv_free_ char **archs = NULL;
        (void) dpkg_architectures(s->host, &archs); /* else libapt asks dpkg */
        AptOptions ao = {
                .architectures = (const char *const *) archs,
                .root = s->host->root,
                .sourcelist = list,
                .sourceparts = parts,
                .lock_timeout_sec = o ? o->lock_timeout : APT_LOCK_TIMEOUT_DEFAULT,
                .quiet = !(o && o->verbose),
                .debs = o ? o->debs : NULL,
                .scratch = scratchdir,
                .readonly = o && o->readonly,
                .installs = o && o->lock,
                .cache_in_memory = o && o->no_lists,
                .packages = o && o->no_lists ? apt_memory_packages(s->host, o->debs, 0) : 0,
                .force_confmiss = o && o->force_confmiss,
                .chroot_scripts = s->host->image,
                .lock_wait = s->out.lock_wait ? on_lock_wait : NULL,
                .lock_userdata = s, .deferred = o && o->deferred,
        };
        if (o && o->lock && !o->verbose && !scratch && s->dpkg_log_fd <= 0)
                s->dpkg_log_fd = open_term_log(s->host);
        ao.dpkg_output_fd = s->dpkg_log_fd;
        int r = apt_shim_open(&ao, &s->shim, reterr);
        if (r < 0 || !bundle)
                return r;
        /* the bundle's indexes: local files, no network */
        r = apt_shim_update(s->shim, NULL, reterr);
        if (r < 0) {
                apt_shim_close(s->shim);
                s->shim = NULL;
        }
        return r;
}

/* Who holds dpkg's frontend lock or dpkg's own lock (fcntl locks, as apt and dpkg take them):
 * "process 1234 (unattended-upgr)", or NULL when it cannot be told. libapt's message after a
 * DPkg::Lock::Timeout does not say. */
static char *dpkg_lock_holder(const Host *h) {
        static const char *const locks[] = {"/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock"};
        for (size_t i = 0; i < ELEMENTSOF(locks); i++) {
                _cleanup_free_ char *p = host_path(h, locks[i]);
                _cleanup_close_ int fd = open(p, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
                struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
                if (fd < 0 || fcntl(fd, F_GETLK, &fl) < 0 || fl.l_type == F_UNLCK || fl.l_pid <= 0)
                        continue;
                _cleanup_free_ char *comm_path = xasprintf("/proc/%d/comm", (int) fl.l_pid);
                _cleanup_free_ char *comm = NULL;
                if (read_line_file(comm_path, &comm) < 0 || !comm[0])
                        return xasprintf("process %d", (int) fl.l_pid);
                return xasprintf("process %d (%s)", (int) fl.l_pid, comm);
        }
        return NULL;
}

static int dpkg_configure_pending(AptSession *s, bool frontend_locked, char **reterr);
static bool dpkg_journal_pending(const Host *h);

#define APT_LISTS "/var/lib/apt/lists"
#define APT_STAMP "/var/lib/gpubase/apt-lists.stamp"

/* libapt's message names one of the machine's list files: they, not the sources or dpkg, broke. */
static bool lists_are_broken(const Host *h, const char *err) {
        _cleanup_free_ char *dir = host_path(h, APT_LISTS), *lists = xasprintf("%s/", dir);
        return err && strstr(err, lists);
}

/* Remove the package lists (files; not the lock, not the directories) and the update stamp. */
static int discard_lists(const Host *h) {
        _cleanup_free_ char *dir = host_path(h, APT_LISTS), *stamp = host_path(h, APT_STAMP);
        if (unlink(stamp) < 0 && errno != ENOENT)
                return negative_errno();
        _cleanup_(closedirp) DIR *d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : negative_errno();
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.' || streq(de->d_name, "lock") || streq(de->d_name, "partial"))
                        continue;
                struct stat st;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(st.st_mode))
                        continue; /* auxfiles/ and the like */
                if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
                        return negative_errno();
        }
        return fsync(dirfd(d)) < 0 ? negative_errno() : 0;
}

/* Broken lists (why: libapt's message) moved aside and the update stamp forgotten, so that the step
 * fetches them again instead of failing the same way at every resume. */
static int discard_broken(AptSession *s, const char *why, char **reterr) {
        int r = discard_lists(s->host);
        if (r < 0)
                return errorf(reterr, r, "%s; moving the broken lists aside failed: %s", why, strerror(-r));
        if (s->out.notice) {
                _cleanup_free_ char *m =
                        xasprintf("the package lists did not parse (%s): discarded them, they are fetched again", why);
                s->out.notice(s->out.userdata, m);
        }
        return 0;
}

int apt_session_ready(AptSession *s, char **reterr) {
        int r = apt_shim_ready(s->shim, reterr);
        if (r >= 0 || !s->own_sources || !lists_are_broken(s->host, *reterr))
                return r;
        _cleanup_free_ char *why = *reterr; /* as at an open that builds the cache (apt_session_open()) */
        *reterr = NULL;
        r = discard_broken(s, why, reterr);
        if (r >= 0)
                r = apt_shim_reopen(s->shim, reterr);
        return r < 0 ? r : apt_shim_ready(s->shim, reterr);
}

/* Make what apt downloaded durable (lists and archives): libapt renames its downloads into place
 * without an fsync, and a power cut then leaves empty files behind those names. syncfs covers the
 * whole filesystem in one call. */
void apt_session_sync(AptSession *s) {
        _cleanup_free_ char *p = host_path(s->host, APT_LISTS);
        _cleanup_close_ int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0)
                (void) syncfs(fd);
}

/* The read-only session the probes of a run share (apt_probe_session()), and what it was opened
 * over: dpkg's status, the sources and the preferences (files and directories). */
static const char *const kept_over[] = {DPKG_STATUS, "/etc/apt/sources.list", "/etc/apt/sources.list.d",
                                        "/etc/apt/preferences", "/etc/apt/preferences.d"};
static struct {
        AptSession s;
        bool open;
        pid_t pid; /* the process that opened it */
        const Host *host;
        struct stat over[ELEMENTSOF(kept_over)];
} kept;

/* A child of gpubase (fork() without exec: the read ahead of host/apt_names.c) inherits the session
 * but not its scratch copy of the sources, which is the parent's: it only forgets it. */
static void kept_close(void) {
        if (kept.open && kept.pid == getpid())
                apt_session_close(&kept.s);
        kept.open = false;
}

static void kept_stat(const Host *h, struct stat *ret) {
        for (size_t i = 0; i < ELEMENTSOF(kept_over); i++) {
                _cleanup_free_ char *p = host_path(h, kept_over[i]);
                ret[i] = (struct stat){0};
                (void) stat(p, &ret[i]);
        }
}

int apt_probe_session(const Host *h, const AptSessionOptions *o, AptSession **ret, char **reterr) {
        static bool registered;
        struct stat now[ELEMENTSOF(kept_over)];
        kept_stat(h, now);
        bool same = kept.open && kept.host == h;
        for (size_t i = 0; same && i < ELEMENTSOF(kept_over); i++)
                same = now[i].st_ino == kept.over[i].st_ino && now[i].st_size == kept.over[i].st_size &&
                       now[i].st_mtim.tv_sec == kept.over[i].st_mtim.tv_sec &&
                       now[i].st_mtim.tv_nsec == kept.over[i].st_mtim.tv_nsec;
        if (!same) {
                kept_close();
                if (!registered)
                        registered = atexit(kept_close) == 0; /* its scratch copy of the sources */
                int r = apt_session_open(&kept.s, h, o, reterr);
                if (r < 0)
                        return r;
                kept.open = true;
                kept.pid = getpid();
                kept.host = h;
                memcpy(kept.over, now, sizeof now);
        }
        kept.s.out = o && o->output ? *o->output : (AptOutput){0};
        *ret = &kept.s;
        return 0;
}

void apt_probe_session_release(AptSession *s) {
        s->out = (AptOutput){0}; /* the caller's printer goes out of scope */
}

int apt_session_open(AptSession *s, const Host *h, const AptSessionOptions *o, char **reterr) {
        int r;
        if (s != &kept.s)
                kept_close(); /* libapt's state is process-global: one session at a time */
        *s = (AptSession){.host = h, .stop_fd = o ? o->stop_fd : 0};
        if (o && o->output)
                s->out = *o->output;
        if (host_is_rooted(h) && !(o && (o->scratch || o->readonly))) {
                r = prepare_root(h);
                if (r < 0)
                        return errorf(reterr, r, "cannot prepare apt's directories under %s: %s", h->root, strerror(-r));
        }
        r = open_shim(s, o, reterr);
        if (r < 0 && !h->apt_bundle && !(o && o->scratch) && lists_are_broken(h, *reterr)) {
                /* the package lists do not parse (a power cut after apt renamed them into place
                 * but before they reached the disk leaves them empty). A read-only session reads
                 * without lists (what dpkg has installed is all a probe needs); one that may write
                 * moves them aside and forgets the update stamp, so that the step fetches them
                 * again instead of failing the same way at every resume. */
                _cleanup_free_ char *why = *reterr;
                *reterr = NULL;
                apt_session_close(s);
                if (o && o->readonly) {
                        AptSessionOptions ro = *o;
                        ro.scratch = true;
                        r = open_shim(s, &ro, reterr);
                } else if ((r = discard_broken(s, why, reterr)) >= 0)
                        r = open_shim(s, o, reterr);
        }
        if (r < 0) {
                apt_session_close(s);
                return r;
        }
        if (o && o->lock) {
                r = apt_shim_lock(s->shim, reterr);
                if (r == -EIO && dpkg_journal_pending(h)) {
                        /* a dpkg run was cut off: let dpkg itself finish it (it takes the locks),
                         * then take the lock again over a fresh view of its database */
                        free(*reterr);
                        *reterr = NULL;
                        r = dpkg_configure_pending(s, false, reterr);
                        if (r >= 0)
                                r = apt_shim_reopen(s->shim, reterr);
                        if (r >= 0)
                                r = apt_shim_lock(s->shim, reterr);
                }
                if (r < 0) {
                        _cleanup_free_ char *holder = r == -EBUSY ? dpkg_lock_holder(h) : NULL;
                        if (holder) {
                                char *m = xasprintf("%s; it is held by %s", *reterr ? *reterr : "", holder);
                                free(*reterr);
                                *reterr = m;
                        }
                        apt_session_close(s);
                        return r;
                }
        }
        return 0;
}

void apt_session_close(AptSession *s) {
        if (s->shim)
                apt_shim_close(s->shim);
        s->shim = NULL;
        if (s->dpkg_log_fd > 0)
                close(s->dpkg_log_fd);
        s->dpkg_log_fd = 0;
        apt_names_free(s->scope_names);
        s->scope_names = NULL;
        free(s->scope);
        s->scope = NULL;
        if (s->tmpdir)
                rm_rf_tree(s->tmpdir);
        free(TAKE_PTR(s->tmpdir));
}

static uint64_t newest_mtime(const Host *h, const char *rel, const char *suffix) {
        _cleanup_free_ char *dir = host_path(h, rel);
        _cleanup_(closedirp) DIR *d = opendir(dir);
        struct dirent *de;
        uint64_t best = 0;
        while (d && (de = readdir(d))) {
                size_t n = strlen(de->d_name), m = strlen(suffix);
                if (de->d_name[0] == '.' || n < m || !streq(de->d_name + n - m, suffix))
                        continue;
                _cleanup_free_ char *f = xasprintf("%s/%s", rel, de->d_name), *p = host_path(h, f);
                struct stat st;
                if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
                        uint64_t t = (uint64_t) st.st_mtim.tv_sec * 1000000000ULL + (uint64_t) st.st_mtim.tv_nsec;
                        best = t > best ? t : best;
                }
        }
        return best;
}

bool apt_lists_stale(const Host *h) {
        _cleanup_free_ char *list = host_path(h, "/etc/apt/sources.list");
        _cleanup_free_ char *stamp = host_path(h, APT_STAMP);
        struct stat st;
        if (stat(stamp, &st) < 0)
                return true;
        uint64_t have = (uint64_t) st.st_mtim.tv_sec * 1000000000ULL + (uint64_t) st.st_mtim.tv_nsec;
        uint64_t want = newest_mtime(h, "/etc/apt/sources.list.d", ".list");
        uint64_t w2 = newest_mtime(h, "/etc/apt/sources.list.d", ".sources");
        want = w2 > want ? w2 : want;
        if (stat(list, &st) == 0) {
                uint64_t t = (uint64_t) st.st_mtim.tv_sec * 1000000000ULL + (uint64_t) st.st_mtim.tv_nsec;
                want = t > want ? t : want;
        }
        return want >= have;
}

/* A list file's name is its URI with '/' as '_': a suite's signed release file is PREFIX_InRelease
 * (or PREFIX_Release beside PREFIX_Release.gpg), its indexes PREFIX_..._Packages. libapt has no
 * call that says whether an index lost its release file (it reads the index and calls it
 * untrusted), so the names are compared here. */
static bool index_has_release(char **releases, const char *name) {
        for (size_t i = 0; releases && releases[i]; i++)
                if (startswith(name, releases[i]))
                        return true;
        return false;
}

bool apt_lists_missing(const Host *h) {
        _cleanup_free_ char *dir = host_path(h, APT_LISTS);
        _cleanup_strv_free_ char **releases = NULL, **indexes = NULL;
        _cleanup_(closedirp) DIR *d = opendir(dir);
        for (struct dirent *de; d && (de = readdir(d));) {
                const char *n = de->d_name, *end = strrchr(n, '_');
                if (!end)
                        continue;
                if (streq(end, "_InRelease") || streq(end, "_Release.gpg"))
                        strv_push(&releases, xstrndup(n, (size_t) (end - n) + 1));
                else if (strstr(n, "_Packages"))
                        strv_push(&indexes, xstrdup(n));
        }
        for (size_t i = 0; indexes && indexes[i]; i++)
                if (!index_has_release(releases, indexes[i]))
                        return true;
        return !indexes;
}

int apt_session_update(AptSession *s, char **reterr) {
        int r = apt_session_unscope(s, reterr); /* every source's lists */
        if (r >= 0)
                r = apt_shim_update(s->shim, &s->out.progress, reterr);
        progress_done(s);
        if (r < 0)
                return r;
        apt_session_sync(s);
        _cleanup_free_ char *stamp = host_path(s->host, APT_STAMP);
        if (host_mkdir_state_dir(s->host) >= 0)
                (void) write_file_atomic(stamp, "", 0, 0644);
        return 0;
}

bool apt_reinstall_required(const Host *h) {
        static const char *const states[] = {"half-installed", NULL};
        return dpkg_any_in_state(h, states, true);
}

/* `dpkg --configure --pending` with the session's dpkg options. With frontend_locked, we hold the
 * frontend lock and hand dpkg the inner one; without, dpkg takes both itself. */
static int dpkg_configure_pending(AptSession *s, bool frontend_locked, char **reterr) {
        char **argv = NULL;
        strv_push(&argv, xstrdup("dpkg"));
        for (const char *const *o = apt_shim_dpkg_options(s->shim); o && *o; o++)
                strv_push(&argv, xstrdup(*o));
        strv_push(&argv, xstrdup("--configure"));
        strv_push(&argv, xstrdup("--pending"));
        char *env[] = {(char *) "DPKG_FRONTEND_LOCKED=true", NULL};
        ExecSpec spec = {.argv = argv, .env = frontend_locked ? env : NULL, .timeout_sec = 3600,
                         .output = s->out.program, .userdata = s->out.userdata, .stop_fd = s->stop_fd};
        _cleanup_(exec_result_done) ExecResult res = {0};
        int r = exec_run(&spec, &res);
        if (r >= 0 && (res.exec_errno || res.status != 0) && !(res.status == 1 && apt_reinstall_required(s->host))) {
                _cleanup_free_ char *how = exec_failure_text(&spec, &res);
                r = errorf(reterr, -EIO, "finishing the interrupted dpkg run failed: %s", how);
        }
        /* else: what dpkg could not configure must be reinstalled; the install that follows does it */
        strv_free(argv);
        return r;
}

/* dpkg cut off (a crash, a power cut) leaves status updates it had not folded into the status file
 * in /var/lib/dpkg/updates/ (files named by number); libapt then refuses the lock ("dpkg was
 * interrupted, you must manually run 'dpkg --configure -a'"). */
static bool dpkg_journal_pending(const Host *h) {
        _cleanup_free_ char *d = host_path(h, "/var/lib/dpkg/updates");
        _cleanup_(closedirp) DIR *dir = opendir(d);
        struct dirent *de;
        while (dir && (de = readdir(dir)))
                if (de->d_name[0] && strspn(de->d_name, "0123456789") == strlen(de->d_name))
                        return true;
        return false;
}

int apt_configure_pending(AptSession *s, char **reterr) {
        static const char *const pending[] = {"half-configured", "unpacked",         "half-installed",
                                              "triggers-awaited", "triggers-pending", NULL};
        if (!dpkg_any_in_state(s->host, pending, false))
                return 0;
        /* dpkg takes the dpkg lock itself: our frontend lock stays, the inner one is handed over */
        apt_shim_release_inner(s->shim);
        int r = dpkg_configure_pending(s, true, reterr);
        int r2 = apt_shim_retake_inner(s->shim, NULL);
        if (r < 0)
                return r;
        if (r2 < 0)
                return errorf(reterr, r2, "cannot take the dpkg lock back after configuring pending packages");
        r = apt_shim_reopen(s->shim, reterr);
        return r < 0 ? r : 1;
}

/* Every requested version first, then the marks: requested packages that depend on each other's
 * exact versions (the toolkit's four) resolve against the requested versions. */
int apt_mark_versions(AptSession *as, const AptPkgSpec *pkgs, char **versions, size_t n, char **reterr) {
        for (size_t i = 0; i < n; i++) {
                int r = apt_shim_set_candidate(as->shim, pkgs[i].name, versions[i], reterr);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n; i++) {
                int r = apt_shim_mark_install(as->shim, pkgs[i].name, NULL, reterr);
                if (r < 0)
                        return r;
        }
        return 0;
}

int apt_install_versions(AptSession *as, const AptPkgSpec *pkgs, char **versions, size_t n, bool unhold,
                         bool download_only, unsigned *ret_changed, char **reterr) {
        _cleanup_strv_free_ char **unholds = NULL, **changes = NULL;
        int r;
        for (size_t i = 0; i < n; i++) {
                AptPackage pk = {0};
                if (apt_shim_package(as->shim, pkgs[i].name, &pk) == 0 && pk.held && pk.installed &&
                    !streq(pk.installed, versions[i]) && !download_only) {
                        if (!unhold) {
                                r = errorf(reterr, -EPERM,
                                           "%s is held at %s and the plan would move it to %s; refusing. To move a pin "
                                           "on purpose, set `unhold: true` on the step (unhold, install, hold)",
                                           pkgs[i].name, pk.installed, versions[i]);
                                apt_package_done(&pk);
                                return r;
                        }
                        strv_push(&unholds, xstrdup(pkgs[i].name));
                }
                apt_package_done(&pk);
        }
        if (unholds) {
                r = apt_set_hold(as, (const char *const *) unholds, false, reterr);
                if (r < 0)
                        return r;
        }
        r = apt_mark_versions(as, pkgs, versions, n, reterr);
        if (r < 0)
                return r;
        r = apt_shim_resolve(as->shim, &changes, reterr);
        if (r < 0)
                return r;
        unsigned changed = (unsigned) r;
        if (changed > 0 && (r = apt_session_scope_check(as, reterr)) < 0) {
                apt_shim_clear_marks(as->shim);
                return r;
        }
        if (changed > 0) {
                off_t mark = apt_term_log_mark(as);
                as->dpkg_ran = as->dpkg_ran || !download_only;
                r = apt_shim_commit(as->shim, download_only, &as->out.progress, reterr);
                as->commit_failed = r < 0;
                progress_done(as);
                if (r < 0 && reterr && as->dpkg_log_fd > 0 && !download_only) {
                        _cleanup_free_ char *why = apt_term_log_failure(as, mark);
                        char *m = xasprintf("%s%s%s (dpkg's output: %s%s)", why ? why : "", why ? "; " : "",
                                            *reterr ? *reterr : "dpkg failed", as->host->root, APT_TERM_LOG);
                        free(*reterr);
                        *reterr = m;
                }
                if (r < 0)
                        return r;
        } else
                apt_shim_clear_marks(as->shim);
        if (ret_changed)
                *ret_changed = changed;
        return 0;
}
