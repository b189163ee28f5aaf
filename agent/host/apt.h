/* apt for the steps: a session over the shim (shim/aptshim.h) for this Host. Under --root it
 * prepares the root's apt and dpkg directories and hands libapt a per-session copy of the root's
 * sources in which every signed-by path is prefixed with the root (apt would otherwise read the
 * host's keyrings: shim/README.md), leaving the files in the root as they must be for the real
 * machine. Nothing here ever runs apt-get. Functions return 0 or -errno and write *reterr only on
 * failure, ret_ outputs only on success (base/error.h). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "shim/aptshim.h"
#include "host/exec.h"
#include "host/host.h"

/* A package a plan asks for: a name, and an exact version or a glob ("595.*"); NULL: any. */
typedef struct AptPkgSpec {
        char *name;
        char *version;
} AptPkgSpec;

/* What a session has to tell the user. host/ never prints: the caller decides what to show and
 * how. Every member is optional. */
typedef struct AptOutput {
        AptProgress progress;                  /* downloads and dpkg's steps, as they happen */
        void (*progress_done)(void *userdata); /* a download or an install is over (its progress line ends) */
        void (*notice)(void *userdata, const char *text); /* something the user should know, not an error */
        ExecOutputFn program;                  /* the output of a dpkg run by the session itself */
        /* about once a second while the session waits for the dpkg lock: who holds it ("process
         * 1234 (unattended-upgr)", NULL when that cannot be told), seconds waited, of timeout */
        void (*lock_wait)(void *userdata, const char *holder, unsigned waited, unsigned timeout);
        void *userdata;                        /* for progress_done, notice, program and lock_wait */
} AptOutput;

/* Where dpkg's own output (and its maintainer scripts') goes when the session installs without
 * verbose: apt's terminal log, which apt itself opens and closes with "Log started/ended" lines. */
#define APT_TERM_LOG "/var/log/apt/term.log"

typedef struct AptSession {
        const Host *host;
        AptShim *shim;
        char *tmpdir;      /* the rewritten sources, scratch lists; removed on close */
        bool root_sources; /* libapt reads the root's sources (rewritten into tmpdir when needed) */
        bool own_sources;  /* the machine's or the root's own sources (not a bundle's, a caller's or none) */
        bool local;        /* apt_session_local(): dpkg's status and local debs only, until the next reopen */
        bool dpkg_ran;     /* the session has run dpkg to install (apt_install_versions()) */
        bool commit_failed; /* the last apt_install_versions() failed fetching or installing */
        char *scope;       /* apt_session_scope(): the directory of the sources read instead of all */
        AptNames *scope_names;  /* what each sources file offers */
        uint64_t scope_outside; /* the files (bits of apt_shim_names()'s) left out of the scope */
        size_t scope_packages;  /* the names the scope's files offer (apt_names_count()) */
        AptOutput out;
        int stop_fd;       /* ExecSpec.stop_fd for the dpkg the session runs itself */
        int dpkg_log_fd;   /* > 0: APT_TERM_LOG, where dpkg's output goes while it installs */
} AptSession;

#define APT_LOCK_TIMEOUT_DEFAULT 120

typedef struct AptSessionOptions {
        bool lock;               /* take the dpkg locks (needed to install or hold) */
        unsigned lock_timeout;   /* seconds */
        const char *const *debs; /* local .deb files to offer */
        bool scratch;            /* dry run: lists and archives in a temporary directory, nothing written */
        bool readonly;           /* probes: the root's lists, no lock; only apt's own cache files
                                  * (pkgcache.bin, srcpkgcache.bin) are written, as apt does */
        bool force_confmiss;     /* dpkg puts back deleted conffiles of reinstalled packages */
        bool no_lists;            /* no sources, so no package lists: dpkg's status and the debs offered
                                   * are all libapt reads (a local package whose dependencies are
                                   * installed), its caches built in memory, the root's left alone */
        const char *only_sources; /* a directory holding sources.list and sources.list.d/: these
                                   * sources instead of the machine's (with scratch: lists apart) */
        bool deferred;            /* libapt's cache built by the first call that reads it, not by the
                                   * open (apt_session_scope() may narrow the sources first);
                                   * apt_session_ready() builds it, mending broken lists as an open does */
        int verbose;              /* libapt and dpkg write to the terminal themselves (the shim's quiet off);
                                   * without, dpkg's output goes to APT_TERM_LOG */
        const AptOutput *output;  /* what the session has to say goes there; NULL: nowhere */
        int stop_fd;              /* readable: stop a dpkg the session runs (Ctx.stop_fd); 0: none */
} AptSessionOptions;

/* The root's sources for libapt (apt_sources.c): when a signed-by path must be prefixed with the
 * root, a copy is written into *tmpdir (made when NULL) and *ret_list, *ret_parts name it (the
 * copies keep their files' mtimes, so that libapt's cache stays valid); else both are NULL and
 * libapt reads the root's own files. Nothing is written in the root. */
int apt_sources_rewrite(const Host *h, char **tmpdir, char **ret_list, char **ret_parts);

/* A session's scratch directory (rewritten sources, scratch lists), removed on close: the
 * mkdtemp(3) template, whose six X's mkdtemp replaces. */
#define APT_TMPDIR_TEMPLATE "/tmp/gpubase-apt.XXXXXX"
/* *tmpdir made from APT_TMPDIR_TEMPLATE when NULL. 0 or -errno. */
int apt_session_tmpdir(char **tmpdir);

/* Empty sources in *tmpdir (made when NULL), for a session that reads no lists: *ret_list and
 * *ret_parts name them. -errno. */
int apt_sources_empty(char **tmpdir, char **ret_list, char **ret_parts);
/* url into dest through libapt's methods (the root's proxies and auth.conf apply), in a scratch
 * session over no sources that builds no cache: a download needs neither, and a refused file
 * leaves the root as it was. o: the caller's output and verbosity (its other options are
 * replaced). -errno with *reterr. */
int apt_download(const Host *h, const AptSessionOptions *o, const char *url, const char *dest, char **reterr);

/* About how many packages libapt's cache holds in memory over dpkg's status of h, the local debs
 * (NULL-terminated; NULL: none) and `more` packages besides (a scope's lists offer them): for
 * apt_shim_set_local() and AptOptions.packages. 0: unknown (the status cannot be read). */
size_t apt_memory_packages(const Host *h, const char *const *debs, size_t more);

/* Opens a session (*s is written in every case; apt_session_close() it). On failure *reterr says
 * why; -EBUSY: the dpkg lock is held by someone else past the timeout (*reterr names the holder). */
int apt_session_open(AptSession *s, const Host *h, const AptSessionOptions *o, char **reterr);
void apt_session_close(AptSession *s);
/* A read-only session (o->readonly) shared by the probes of one run: opened at the first call and
 * kept, opened again only when dpkg's status, the sources or the preferences changed or another
 * session was opened in between (libapt holds one at a time); closed at exit. Not closed by the
 * caller: apt_probe_session_release() it when done. */
int apt_probe_session(const Host *h, const AptSessionOptions *o, AptSession **ret, char **reterr);
void apt_probe_session_release(AptSession *s);
/* Reopen after the sources or preferences changed (re-rewrites the sources; after
 * apt_session_local(), the lists again). *reterr on failure. */
int apt_session_reopen(AptSession *s, char **reterr);
/* Reopen a session over its own sources (own_sources, locked or not) to read dpkg's status and the
 * given local .deb files alone: no lists, its caches in memory, the lock kept. For a package that
 * needs nothing that is not installed: libapt then does not build the state of every package of the
 * lists to install it. apt_session_reopen() goes back to the lists. -EOPNOTSUPP for other sessions. */
int apt_session_local(AptSession *s, const char *const *debs, char **reterr);
/* Scoped resolution: a session over the machine's own sources reads only the sources files whose
 * indexes offer pkgs (libapt's state over a Debian host's 63,000 listed packages is most of an
 * install's own time; NVIDIA's repositories list a few hundred), until apt_session_unscope() or an
 * update. Its caches are built in memory; apt_install_versions() checks each resolution with
 * apt_session_scope_check(). 1: scoped (*ret_note: "2 of 3 sources files"); 0: not (the packages
 * are offered by every file, or one by none; not the session's own sources); -errno with *reterr. */
#define APT_NAMES_CACHE "/var/cache/gpubase/list-names" /* what each package list offers (apt_shim_names()) */
int apt_session_scope(AptSession *s, const AptPkgSpec *pkgs, size_t n, char **ret_note, char **reterr);
/* What the lists of h's own sources offer, read into APT_NAMES_CACHE ahead of the first
 * apt_session_scope(), by a child process, once per process (agent/host/apt_names.c): for a run
 * about to change the machine before an apt-install step. Nothing with a bundle's sources. The
 * child ends with gpubase; apt_session_scope() waits for it, and so does exit. */
void apt_names_ahead(const Host *h);
void apt_names_ahead_wait(void);
/* What the lists of the session's sources offer (apt_shim_names()), through APT_NAMES_CACHE (made
 * when missing). -errno with *reterr. */
int apt_session_names(AptSession *s, char ***ret_files, AptNames **ret, char **reterr);
/* Every source again (deferred: the cache is built by the next call that reads it). */
int apt_session_unscope(AptSession *s, char **reterr);
/* In a scope, the marked resolution must stand for every source (apt_shim_scope_check()): 0 when it
 * does or there is no scope, -ESTALE with *reterr saying why it may not. */
int apt_session_scope_check(AptSession *s, char **reterr);
/* The cache of a deferred session built now; lists that do not parse are moved aside (the step fetches
 * them again), as apt_session_open() does. -errno with *reterr. */
int apt_session_ready(AptSession *s, char **reterr);
/* libapt's cache is built over the sources the session reads now (reading it costs nothing more). */
bool apt_session_built(const AptSession *s);
/* A directory of the session's own (removed on close), made under its scratch directory: *ret. */
int apt_session_subdir(AptSession *s, const char *name, char **ret);

/* The sources changed since gpubase last refreshed the lists (or it never did): an update is due.
 * apt gives downloaded lists the server's mtime, so a stamp of our own refresh is what counts. */
bool apt_lists_stale(const Host *h);
/* The root's package lists are missing: no index (no *_Packages* file in /var/lib/apt/lists), or an
 * index without the signed release file it came with (libapt would read it as untrusted and refuse
 * its archives). Never refreshed, or removed since: an image build removes the lists it fetched,
 * and keeps the stamp apt_lists_stale() compares with. */
bool apt_lists_missing(const Host *h);
/* apt update, and the stamp apt_lists_stale() compares with. *reterr on failure. */
int apt_session_update(AptSession *s, char **reterr);
/* Make the lists and archives apt downloaded durable (called after an update and a prefetch). */
void apt_session_sync(AptSession *s);

/* A package dpkg marked "reinstall required" (cut off mid-unpack): dpkg refuses to configure it,
 * and only its archive (from the lists) mends it. */
bool apt_reinstall_required(const Host *h);

/* dpkg left packages unpacked or half-configured (a cut-off run): finish them the way
 * `dpkg --configure -a` does. Returns 1 if something was configured, 0 if nothing was pending, -errno
 * with *reterr on failure. */
int apt_configure_pending(AptSession *s, char **reterr);

/* Is name_version_*.deb in the root's archive cache (/var/cache/apt/archives)? */
bool apt_archive_cached(const Host *h, const char *name, const char *version);

/* The highest version of name matching a glob ("595.*") or equal to an exact version; NULL pattern:
 * the candidate. -ENOENT with *reterr listing what exists (written only on failure). */
int apt_pick_version(AptSession *s, const char *name, const char *pattern, char **ret_version, char **reterr);
/* Same, but only among versions an index from `origin` offers (see apt_origin_matches()): with the
 * candidate when it qualifies, else the highest such version of the candidate's pin priority. -ENOENT with *reterr
 * saying where the versions come from. */
int apt_pick_version_from(AptSession *s, const char *name, const char *pattern, const char *origin, char **ret_version,
                          char **reterr);
/* Does name=version come from origin: a repository site, a Release "Origin:" field, or a URI
 * prefix (ending at a '/')? *ret_from (optional) describes where it comes from. */
bool apt_origin_matches(AptSession *s, const char *name, const char *version, const char *origin, char **ret_from);

/* After dpkg failed (apt_diagnose.c): what its output says went wrong, in a line (a DKMS build that
 * failed: the module, the kernel, the compiler's first error and the build log; else the packages
 * dpkg could not set up), or NULL. out: what dpkg and the maintainer scripts wrote. */
char *apt_dpkg_failure_detail(const Host *h, const char *out);
/* Where APT_TERM_LOG ends now (-1: the session does not write it), and what the session's dpkg
 * wrote there since says went wrong (apt_dpkg_failure_detail()), or NULL. */
off_t apt_term_log_mark(const AptSession *s);
char *apt_term_log_failure(const AptSession *s, off_t since);

/* Holds (hold) or releases the installed packages names (NULL-terminated) through dpkg's selections
 * (apt_hold.c), handing dpkg the inner lock the session holds. -ENOENT when one is not installed. */
int apt_set_hold(AptSession *s, const char *const *names, bool hold, char **reterr);

/* Marks pkgs[i] for install at versions[i]: every version is made the candidate first, then the
 * marks, so that requested packages that depend on each other's exact versions (the toolkit's
 * four) resolve against the requested versions. */
int apt_mark_versions(AptSession *as, const AptPkgSpec *pkgs, char **versions, size_t n, char **reterr);
/* Installs (or with download_only only downloads) pkgs[i] at versions[i]: every requested version
 * is marked (apt_mark_versions()), then apt's resolver and package manager run.
 * A held package that would move is refused (-EPERM) unless unhold, which lifts its hold first.
 * *ret_changed (optional, written on success): how many packages the resolver changed; 0 changes
 * nothing. -errno with *reterr, when apt gave a message at all. */
int apt_install_versions(AptSession *as, const AptPkgSpec *pkgs, char **versions, size_t n, bool unhold,
                         bool download_only, unsigned *ret_changed, char **reterr);
