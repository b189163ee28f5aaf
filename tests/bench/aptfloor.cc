// make bench: libapt's own floor for a cold run. The least a frontend over libapt-pkg can do to make
// the cold plan's installs, with nothing of gpubase's own: for each SET, in order, libapt's cache
// built in memory over that set's source list alone and dpkg's status (as gpubase's scoped
// sessions build it), the packages marked, the resolver run, the archives fetched and dpkg run.
// Its own share of the wall time, traced like gpubase's cold run, is the floor under gpubase's.
//   aptfloor ROOT DEB SET...   SET: SOURCELIST:PKG[=VERSION][,PKG[=VERSION]...]
// DEB is added to the first set's sources (the keyring package, installed from its file).
// APTFLOOR_HASH: libapt's hash table size (gpubase sizes it for the packages its sessions hold).
#include <apt-pkg/acquire.h>
#include <apt-pkg/algorithms.h>
#include <apt-pkg/cachefile.h>
#include <apt-pkg/configuration.h>
#include <apt-pkg/depcache.h>
#include <apt-pkg/error.h>
#include <apt-pkg/init.h>
#include <apt-pkg/install-progress.h>
#include <apt-pkg/packagemanager.h>
#include <apt-pkg/pkgrecords.h>
#include <apt-pkg/pkgsystem.h>
#include <apt-pkg/progress.h>
#include <apt-pkg/sourcelist.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>

static bool mark(pkgCacheFile &cache, pkgDepCache *dc, std::string name) {
        std::string ver;
        auto eq = name.find('=');
        if (eq != std::string::npos) {
                ver = name.substr(eq + 1);
                name = name.substr(0, eq);
        }
        pkgCache::PkgIterator p = cache.GetPkgCache()->FindPkg(name);
        if (p.end())
                return _error->Error("aptfloor: no package %s in this set's sources", name.c_str());
        for (auto v = p.VersionList(); !ver.empty() && !v.end(); ++v)
                if (ver == v.VerStr())
                        dc->SetCandidateVersion(v);
        return dc->MarkInstall(p, true);
}

static bool install(const std::string &deb, const std::string &set) {
        auto colon = set.find(':');
        if (colon == std::string::npos)
                return _error->Error("aptfloor: %s is not SOURCELIST:PACKAGES", set.c_str());
        _config->Set("Dir::Etc::sourcelist", set.substr(0, colon));
        pkgCacheFile cache;
        if (!deb.empty()) {
                cache.BuildSourceList();
                cache.GetSourceList()->AddVolatileFile(deb);
        }
        OpProgress quiet;
        if (!cache.BuildCaches(&quiet, false))
                return false;
        pkgDepCache *dc = cache.GetDepCache();
        if (!dc)
                return false;
        std::stringstream names(set.substr(colon + 1));
        for (std::string name; std::getline(names, name, ',');)
                if (!mark(cache, dc, name))
                        return false;
        pkgProblemResolver fix(dc);
        if (!fix.Resolve())
                return false;
        pkgAcquire fetcher;
        pkgRecords recs(*dc);
        std::unique_ptr<pkgPackageManager> pm(_system->CreatePM(dc));
        if (!pm->GetArchives(&fetcher, cache.GetSourceList(), &recs) || fetcher.Run() != pkgAcquire::Continue)
                return _error->Error("aptfloor: downloading failed");
        _system->UnLockInner();
        APT::Progress::PackageManager progress;
        auto done = pm->DoInstall(&progress);
        _system->LockInner();
        return done == pkgPackageManager::Completed || _error->Error("aptfloor: dpkg did not complete");
}

int main(int argc, char **argv) {
        if (argc < 4) {
                fprintf(stderr, "usage: aptfloor ROOT DEB SOURCELIST:PKG[,PKG...]...\n");
                return 2;
        }
        std::string root = argv[1];
        _config->Set("Dir", root + "/");
        if (!pkgInitConfig(*_config))
                return _error->DumpErrors(), 1;
        // what gpubase's sessions set (shim/aptshim.cc): no translations, no pty, no planner log,
        // the architecture given, dpkg on the root with its scripts run here
        _config->Set("Acquire::Languages", "none");
        _config->Set("Dpkg::Use-Pty", "false");
        _config->Set("Dir::Log::Planner", "");
        _config->Set("APT::Architecture", "amd64");
        _config->Set("APT::Keep-Downloaded-Packages", "true");
        _config->Set("APT::Sandbox::User", "root");
        _config->Set("Dir::Etc::sourceparts", "/nonexistent");
        _config->Set("Dir::Cache::pkgcache", "");
        _config->Set("Dir::Cache::srcpkgcache", "");
        if (const char *h = getenv("APTFLOOR_HASH"))
                _config->Set("APT::Cache-HashTableSize", h);
        for (const std::string &opt : {"--root=" + root, "--log=" + root + "/var/log/dpkg.log",
                                       std::string("--force-script-chrootless")})
                _config->Set("DPkg::Options::", opt);
        if (!pkgInitSystem(*_config, _system) || !_system->Lock())
                return _error->DumpErrors(), 1;
        for (int i = 3; i < argc; i++)
                if (!install(i == 3 ? argv[2] : "", argv[i]))
                        return _error->DumpErrors(), 1;
        return 0;
}
