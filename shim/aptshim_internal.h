// What the two halves of the shim share (aptshim.cc: the session, the cache and the marks;
// aptshim_fetch.cc: downloads and installation). C++ only: never included from C.
#pragma once

#include <apt-pkg/acquire.h>
#include <apt-pkg/cachefile.h>
#include <apt-pkg/error.h>
#include <apt-pkg/install-progress.h>
#include <apt-pkg/pkgcache.h>

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
        std::vector<std::string> dpkg_opts;
        std::vector<const char *> dpkg_opts_c;
        std::vector<std::string> protect; // packages the user asked for: the resolver must not drop them
        std::vector<std::string> debs; // local .deb files offered beside the repositories
};

namespace aptshim {

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

class InstallStatus : public APT::Progress::PackageManager {
        const AptProgress *p;

      public:
        explicit InstallStatus(const AptProgress *prog) : p(prog) {}
        bool StatusChanged(std::string PackageName, unsigned int StepsDone, unsigned int TotalSteps,
                           std::string HumanReadableAction) override {
                if (p && p->install)
                        p->install(p->userdata, PackageName.c_str(), HumanReadableAction.c_str(), StepsDone, TotalSteps);
                return true;
        }
};

inline pkgCache::PkgIterator find_pkg(AptShim *s, const char *name) {
        pkgCache *c = s->cache->GetPkgCache();
        return c->FindPkg(name);
}

} // namespace aptshim
