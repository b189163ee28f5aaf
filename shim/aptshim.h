/* The only C++ in gpubase: a small extern "C" wrapper around libapt-pkg (apt 2.6).
 *
 * libapt's state is process-global: one AptShim at a time, one thread. Every function returns 0
 * (or a positive count) on success and a negative errno on failure, with *reterr (when given) set
 * to a malloc'ed message made of libapt's own error texts, only on failure. -EBUSY means a lock held
 * by another process (host/apt.c names it: one lookup, for both dpkg locks); -ENOENT an unknown
 * package or version. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct AptShim AptShim;

typedef struct AptOptions {
        const char *root;          /* "" or NULL: the real machine; else an absolute directory */
        const char *sourcelist;    /* override Dir::Etc::sourcelist (a file), NULL: keep */
        const char *sourceparts;   /* override Dir::Etc::sourceparts (a directory), NULL: keep */
        unsigned lock_timeout_sec; /* wait this long for the dpkg lock (DPkg::Lock::Timeout) */
        bool quiet;                /* no dpkg output on stdout */
        const char *const *debs;   /* local .deb files to offer as installable (NULL-terminated) */
        const char *scratch;       /* a directory for lists and archives instead of the root's, and
                                    * no cache files: a dry run writes nothing where it looks */
        bool readonly;             /* probes: nothing locked; NULL scratch: the root's lists */
        /* the cache files apt keeps in the root's /var/cache/apt (without scratch): srcpkgcache.bin
         * (the lists) and pkgcache.bin (srcpkgcache.bin merged with dpkg's status) */
        bool installs;               /* the session may run dpkg on the root (it takes the lock):
                                      * pkgcache.bin is built in memory, not written (dpkg's status
                                      * changes, which makes that file stale at once), and the root's
                                      * is removed when dpkg runs, scratch or not */
        bool cache_in_memory;        /* neither file read nor written (a session over other sources
                                      * than the root's: its caches would replace the root's) */
        size_t packages;             /* with cache_in_memory: about how many packages the cache
                                      * holds (0: unknown), as for apt_shim_set_local() */
        const char *const *architectures; /* APT::Architectures, native first (NULL-terminated); NULL:
                                           * libapt asks dpkg */
        bool force_confmiss;       /* dpkg restores deleted conffiles of reinstalled packages */
        bool chroot_scripts;       /* the root is a complete OS (gpubase --image): dpkg runs maintainer
                                    * scripts chrooted into it (no --force-script-chrootless), and
                                    * the root's apt hooks (DPkg::Pre-Invoke...), which would run on
                                    * this machine, are not run */
        int dpkg_output_fd;        /* > 0: what dpkg and its maintainer scripts write (stdout and stderr)
                                    * goes to this descriptor while apt_shim_commit() installs; the
                                    * progress callbacks still write to ours. 0: dpkg shares ours */
        /* called about once a second while apt_shim_lock() waits for a lock someone else holds:
         * seconds waited so far, of lock_timeout_sec. NULL: wait silently */
        void (*lock_wait)(void *userdata, unsigned waited, unsigned timeout);
        void *lock_userdata;
        bool deferred;             /* the cache is not built by the open but by the first call that
                                    * reads it (apt_shim_ready() to build it at a chosen moment): a
                                    * session may first be pointed at other sources */
} AptOptions;

typedef struct AptProgress {
        /* a download made progress: bytes so far / total, items */
        void (*download)(void *userdata, const char *what, unsigned long long done, unsigned long long total);
        /* dpkg: "Installing nvidia-open", step i of n */
        void (*install)(void *userdata, const char *package, const char *action, unsigned step, unsigned steps);
        void *userdata;
} AptProgress;

int apt_shim_open(const AptOptions *opts, AptShim **ret, char **reterr);
void apt_shim_close(AptShim *s);

/* The dpkg options gpubase uses for this root (--root, --log, --force-script-chrootless
 * unless chroot_scripts...),
 * NULL-terminated, static storage owned by the shim. */
const char *const *apt_shim_dpkg_options(AptShim *s);

/* Take the dpkg frontend lock and the dpkg lock, waiting up to lock_timeout_sec. */
int apt_shim_lock(AptShim *s, char **reterr);
void apt_shim_unlock(AptShim *s);
/* Hand the inner dpkg lock to a dpkg we run ourselves (keeping the frontend lock), and take it back. */
int apt_shim_release_inner(AptShim *s);
int apt_shim_retake_inner(AptShim *s, char **reterr);

/* Download the indexes of every source (apt update) and reopen the cache: at once, so that lists
 * that do not parse fail the update, unless the session is deferred (built when first read). */
int apt_shim_update(AptShim *s, const AptProgress *p, char **reterr);
/* Point libapt at other sources (NULL: the root's own sources.list and sources.list.d/), for the
 * next apt_shim_reopen(). */
void apt_shim_set_sources(AptShim *s, const char *sourcelist, const char *sourceparts);
/* With debs (NULL-terminated): the next apt_shim_reopen() offers these local .deb files instead of
 * those of the open, and builds both caches in memory (the root's cache files are neither read nor
 * replaced), for a session pointed at empty sources (apt_shim_set_sources()) or at a few
 * (a scope): dpkg's status, those sources' lists and the debs are all it reads. packages: about how
 * many packages that is (0: unknown); the caches in memory get a hash table of that size instead
 * of libapt's default one, made for every package of a distribution, which each walk over all
 * packages (the resolver makes many) visits bucket by bucket. NULL: the debs and cache files of
 * the open again. */
void apt_shim_set_local(AptShim *s, const char *const *debs, size_t packages);
/* Build the cache now if it is not built (after apt_shim_reopen(), or a deferred open). -EIO with
 * libapt's message when that fails. */
int apt_shim_ready(AptShim *s, char **reterr);
/* 1: the cache is built over the sources libapt reads now (no reopen since): reading it costs
 * nothing more. 0: the next call that reads it builds it. */
int apt_shim_built(const AptShim *s);
/* Re-read sources, preferences and caches from disk (after a pinning package was installed, after
 * dpkg ran). Deferred: the cache is dropped now and built again by the next call that reads it,
 * which fails with -EIO ("cannot reopen the package cache") when that does not work. */
int apt_shim_reopen(AptShim *s, char **reterr);

typedef struct AptPackage {
        char *name;
        char *installed;      /* installed version, NULL if none */
        bool installed_ok;    /* dpkg state "installed" (not half-configured / unpacked) */
        bool held;            /* dpkg selection hold */
        char *candidate;      /* the policy's candidate, NULL if none */
        int candidate_priority;
        char **versions;      /* every version apt knows, newest first */
        int *priorities;      /* the pin priority of each of versions[] */
} AptPackage;
void apt_package_done(AptPackage *p);
int apt_shim_package(AptShim *s, const char *name, AptPackage *ret);

/* Where a version comes from: for each index file offering it, "site|archive|origin|uri". */
int apt_shim_version_origins(AptShim *s, const char *name, const char *version, char ***ret);

/* Make version the candidate of name (before marking anything: dependencies between the requested
 * packages are then resolved against the requested versions). */
int apt_shim_set_candidate(AptShim *s, const char *name, const char *version, char **reterr);
/* Mark name=version (version NULL: the candidate) for installation, with its dependencies. */
int apt_shim_mark_install(AptShim *s, const char *name, const char *version, char **reterr);
/* Mark an installed package for reinstallation (its files are missing or changed). */
int apt_shim_mark_reinstall(AptShim *s, const char *name, char **reterr);
/* Resolve the marked changes; fails (listing the broken packages) if they cannot be resolved.
 * *ret_changes: the packages that would change, "name version" each. */
int apt_shim_resolve(AptShim *s, char ***ret_changes, char **reterr);
/* Fetch the archives of the marked changes (refusing untrusted ones) and, unless download_only,
 * install them through dpkg. Drops the marks afterwards. */
int apt_shim_commit(AptShim *s, bool download_only, const AptProgress *p, char **reterr);
/* Forget the marks. */
void apt_shim_clear_marks(AptShim *s);

/* One archive of the marked changes, as apt_shim_fetch_archives() found it. */
typedef struct AptArchive {
        char *name, *version, *arch;
        char *path;   /* the .deb on disk: in the archive directory, or in place for a file: source */
        char *uri;    /* where it was fetched from */
        char *site, *origin, *label, *suite, *codename; /* of the index that offers it ("" when unset) */
        char *record; /* that index's stanza for this version (control fields, Filename, Size, hashes) */
} AptArchive;
void apt_archives_free(AptArchive *a, size_t n);
/* Fetch the archives of the marked changes (refusing untrusted ones, checking their hashes against
 * the signed indexes) without installing anything, and say where each one is and where it came
 * from. Drops the marks afterwards. */
int apt_shim_fetch_archives(AptShim *s, const AptProgress *p, AptArchive **ret, size_t *ret_n, char **reterr);

/* Download one file (URL, any scheme apt has a method for) to dest, checking its sha256 when given. */
int apt_shim_fetch_file(AptShim *s, const char *url, const char *sha256, const char *dest, char **reterr);

/* The SHA256 that a signed index (one apt verified against its Release file's signature) gives for
 * name=version, and (ret_uri, optional) where that index says the file is. -ENOENT: no index lists
 * that version; -EPERM: only unsigned indexes do. */
int apt_shim_version_sha256(AptShim *s, const char *name, const char *version, char **ret_sha256, char **ret_uri,
                            char **reterr);

/* Copies what a signed repository gave apt in the last update, so that the same check can be made
 * again later without the network: for each repository of the session's sources, a directory
 * dest/N (N = 1, 2, ...) holding its InRelease and its Packages indexes at the paths they have under
 * the repository's URI (with by-hash copies when the repository uses them), and dest/N/repository:
 * "URI\nSUITE\nCOMPONENT...\n". dest must exist. -ENOENT: a repository has no InRelease. */
int apt_shim_save_signed_indexes(AptShim *s, const char *dest, char **reterr);

/* Scoped resolution (agent/steps/apt_install_scope.c): the package names (Package and Provides)
 * the indexes of each sources file offer, read from the lists on disk in one pass, without
 * libapt's cache. */
typedef struct AptNames AptNames;
/* The sources files libapt reads now (sources.list, then sources.list.d/ in libapt's order):
 * *ret_files (NULL-terminated, malloc'ed), and *ret the names their indexes offer (a list not on
 * disk offers none). cache_dir (made when missing; NULL: none): what each list offers is kept
 * there, one file per list, valid while the list is the same file, and removed with the list.
 * -E2BIG: more than 64 files. */
int apt_shim_names(AptShim *s, const char *cache_dir, char ***ret_files, AptNames **ret, char **reterr);
/* The files offering name: bit i for (*ret_files)[i]; 0: none. */
uint64_t apt_names_files(const AptNames *n, const char *name);
/* How many names the files of `files` (bits as above) offer, those offered twice counted twice. */
size_t apt_names_count(const AptNames *n, uint64_t files);
void apt_names_free(AptNames *n);
/* After apt_shim_resolve() in a session over some of those files: does its result stand for all of
 * them? 1: yes. 0: no, *ret_why (malloc'ed) says why: it removes a package, or it installs a
 * package, or meets a dependency (Depends, Pre-Depends; Recommends and Suggests as
 * APT::Install-Recommends and APT::Install-Suggests say) not met by a package that stays installed,
 * by a name that one of the files in `outside` (bits as above) offers as well; libapt over every
 * file could decide otherwise there. -errno with *ret_why. */
int apt_shim_scope_check(AptShim *s, const AptNames *n, uint64_t outside, char **ret_why);

/* Debian version comparison (works without opening anything). */
int apt_shim_version_cmp(const char *a, const char *b);

#ifdef __cplusplus
}
#endif
