// What the two halves of the shim share (aptshim.cc: the session, the cache and the marks;
// aptshim_fetch.cc: downloads and installation). C++ only: never included from C.
#pragma once

#include <apt-pkg/acquire.h>
#include <apt-pkg/cachefile.h>
#include <apt-pkg/error.h>
#include <apt-pkg/install-progress.h>
#include <apt-pkg/pkgcache.h>
#include <apt-pkg/progress.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "aptshim.h"

struct AptShim {
        std::string root;
        bool locked = false;
        std::unique_ptr<pkgCacheFile> cache;
        size_t open_packages = 0;  // AptOptions.packages: about how many packages the caches in memory hold
        size_t local_packages = 0; // the same, apt_shim_set_local()'s
        // apt_shim_reopen() dropped the cache: it is built again by the next call that reads it
        // (cache_ready()), so that a change at the end of a step (dpkg's run, a hold) costs no
        // rebuild over every package of the lists that nothing reads
        bool stale = false;
        bool deferred = false; // AptOptions.deferred: nothing builds the cache but a call that reads it
        bool user_hash_size = false; // the root's apt.conf sets APT::Cache-HashTableSize: kept as it is
        std::vector<std::string> dpkg_opts;
        std::vector<const char *> dpkg_opts_c;
        std::vector<std::string> protect; // packages the user asked for: the resolver must not drop them
        std::vector<std::string> debs; // local .deb files offered beside the repositories
        // apt_shim_set_local(): the debs and cache file names of the open, while other debs are offered
        // over caches in memory
        bool local = false;
        std::vector<std::string> open_debs;
        std::string open_pkgcache, open_srcpkgcache;
        int dpkg_output_fd = 0;        // AptOptions.dpkg_output_fd
        void (*lock_wait)(void *, unsigned, unsigned) = nullptr;
        void *lock_userdata = nullptr;
        unsigned lock_timeout = 0;     // AptOptions.lock_timeout_sec
        // the root's pkgcache.bin, also where this session keeps its status cache in memory: a probe
        // wrote it before this session's dpkg ran, and dpkg may change the status within the same
        // second at the same size (a version of the same length, another selection): libapt would
        // take it as valid. "" for a session whose caches are not the root's
        std::string status_cache_file;
};

namespace aptshim {

// Makes the versions that ver needs exactly (or by a name only they provide) the candidates of their
// packages, depth levels down at most 4 (aptshim_align.cc).
void align_exact_deps(pkgDepCache *dc, pkgCache::VerIterator ver, int depth);

inline char *dup(const std::string &s) {
        char *p = strdup(s.c_str());
        if (!p)
                abort();
        return p;
}

// libapt's pending messages as one line; errors first, warnings only if there is no error. With
// gpg_too, the "GPG error" warnings beside the errors as well: a repository signed by another key is
// a "not signed" error, and only the warning names the key that did sign it.
inline std::string pop_errors(bool gpg_too = false) {
        std::string errors, warnings, gpg;
        while (!_error->empty()) {
                std::string m;
                bool is_error = _error->PopMessage(m);
                if (!is_error && m.find("GPG error") != std::string::npos) {
                        gpg += (gpg.empty() ? "" : "; ") + m;
                        if (gpg_too)
                                continue;
                }
                std::string &to = is_error ? errors : warnings;
                if (!to.empty())
                        to += "; ";
                to += m;
        }
        if (gpg_too && !errors.empty() && !gpg.empty())
                return errors + " (" + gpg + ")";
        return errors.empty() ? warnings : errors;
}

inline int fail(char **reterr, int r, const std::string &what) {
        std::string detail = pop_errors();
        if (reterr) {
                std::string m = what;
                if (!detail.empty())
                        m += m.empty() ? detail : ": " + detail;
                *reterr = dup(m);
        }
        return r;
}

class AcqStatus : public pkgAcquireStatus {
        const AptProgress *p;

      public:
        explicit AcqStatus(const AptProgress *prog) : p(prog) {}
        bool MediaChange(std::string, std::string) override { return false; }
        bool Pulse(pkgAcquire *Owner) override {
                pkgAcquireStatus::Pulse(Owner);
                if (p && p->download)
                        p->download(p->userdata, "", CurrentBytes, TotalBytes);
                return true;
        }
        void Fetch(pkgAcquire::ItemDesc &Itm) override {
                if (p && p->download)
                        p->download(p->userdata, Itm.ShortDesc.c_str(), CurrentBytes, TotalBytes);
        }
};

// dpkg's progress, told to p->install. With a terminal saved (dpkg_output_fd in use: our stdout and
// stderr point at dpkg's log while it runs, so that the dpkg and scripts it forks write there), the
// callback gets our own stdout and stderr back for the time it runs: what it prints reaches the user.
class InstallStatus : public APT::Progress::PackageManager {
        const AptProgress *p;
        int saved_out = -1, saved_err = -1, log_fd = -1;

      public:
        explicit InstallStatus(const AptProgress *prog) : p(prog) {}
        void redirect(int saved_stdout, int saved_stderr, int fd) {
                saved_out = saved_stdout;
                saved_err = saved_stderr;
                log_fd = fd;
        }
        bool StatusChanged(std::string PackageName, unsigned int StepsDone, unsigned int TotalSteps,
                           std::string HumanReadableAction) override {
                if (!p || !p->install)
                        return true;
                if (log_fd >= 0) {
                        (void) dup2(saved_out, STDOUT_FILENO);
                        (void) dup2(saved_err, STDERR_FILENO);
                }
                p->install(p->userdata, PackageName.c_str(), HumanReadableAction.c_str(), StepsDone, TotalSteps);
                if (log_fd >= 0) {
                        fflush(stdout);
                        fflush(stderr);
                        (void) dup2(log_fd, STDOUT_FILENO);
                        (void) dup2(log_fd, STDERR_FILENO);
                }
                return true;
        }
};

// libapt's lock wait (DPkg::Lock::Timeout, debSystem::Lock() in apt 2.6) reports once a second
// through OverallProgress(), which calls Update(): told to AptShim.lock_wait with the seconds since
// the wait began (measured here: OpProgress keeps its own count private).
class LockWait : public OpProgress {
        AptShim *s;
        std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();

      protected:
        void Update() override {
                if (!s->lock_wait)
                        return;
                auto waited = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start);
                s->lock_wait(s->lock_userdata, (unsigned) waited.count(), s->lock_timeout);
        }

      public:
        explicit LockWait(AptShim *shim) : s(shim) {}
};

// Where the caches of a session are, from its options (apt_shim_open())
void cache_options(AptShim *s, const AptOptions *o);
// Builds the session's caches (libapt's errors pending when it fails)
bool open_cache(AptShim *s);
// The cache, built again first when apt_shim_reopen() dropped it; false (libapt's errors pending)
// when that fails
bool cache_ready(AptShim *s);
// The dependency cache (built on first use), after cache_ready(); nullptr when either fails
inline pkgDepCache *depcache(AptShim *s) {
        return cache_ready(s) ? s->cache->GetDepCache() : nullptr;
}
// Removes the root's pkgcache.bin (s->status_cache_file), the cache of dpkg's status over
// srcpkgcache.bin (which stays)
void drop_status_cache(const AptShim *s);

inline pkgCache::PkgIterator find_pkg(AptShim *s, const char *name) {
        pkgCache *c = s->cache->GetPkgCache();
        return c->FindPkg(name);
}

} // namespace aptshim
