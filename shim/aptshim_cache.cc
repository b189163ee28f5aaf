// The package cache of a session: where its files are, its size in memory, built again when read
// after apt_shim_reopen() (aptshim.cc opens the session; aptshim_internal.h says what each is for).

#include "aptshim_internal.h"

#include <apt-pkg/cachefile.h>
#include <apt-pkg/configuration.h>
#include <apt-pkg/sourcelist.h>

#include <cerrno>
#include <string>

using namespace aptshim;

namespace {

// The hash table of a cache built in memory for a local session or a scope: a prime about twice
// the packages it holds (a few chained per bucket at most). libapt's default (196,613 buckets for
// the groups and as many for the packages) is made for every package of a distribution; over
// dpkg's status and a few dozen packages of a scope, each walk over all packages (PkgIterator
// goes bucket by bucket, and the resolver, MarkAndSweep and the state file walk many times) cost
// a fifth of gpubase's own CPU in a cold run. "" where libapt's default stays: the cache files,
// which apt reads too, and sessions over every source.
std::string hash_table_size(const AptShim *s) {
        static const unsigned primes[] = {1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071};
        size_t n = s->local ? s->local_packages : s->open_packages;
        if (n == 0)
                return "";
        for (unsigned p : primes)
                if (p >= 2 * n)
                        return std::to_string(p);
        return "";
}

} // namespace

// Where the caches are (set at apt_shim_open()). Read-only sessions keep the cache files too
// (pkgcache.bin, srcpkgcache.bin in the root's /var/cache/apt, where the directory is writable):
// libapt reuses them until the lists or dpkg's status change, as apt does. A dry run writes nothing
// where it looks.
void aptshim::cache_options(AptShim *s, const AptOptions *o) {
        s->user_hash_size = _config->Exists("APT::Cache-HashTableSize");
        s->open_packages = o->cache_in_memory ? o->packages : 0;
        if (!o->scratch || o->installs) // a dry run removes nothing either
                s->status_cache_file = _config->FindFile("Dir::Cache::pkgcache");
        if (o->scratch || o->cache_in_memory) {
                _config->Set("Dir::Cache::pkgcache", "");
                _config->Set("Dir::Cache::srcpkgcache", "");
        } else if (o->installs)
                _config->Set("Dir::Cache::pkgcache", ""); // srcpkgcache.bin is still kept (apt writes it alone then)
}

bool aptshim::open_cache(AptShim *s) {
        if (!s->user_hash_size) {
                std::string size = hash_table_size(s);
                if (size.empty())
                        _config->Clear("APT::Cache-HashTableSize");
                else
                        _config->Set("APT::Cache-HashTableSize", size);
        }
        s->cache.reset(new pkgCacheFile());
        OpProgress quiet;
        for (auto &deb : s->debs)
                if (!s->cache->GetSourceList()->AddVolatileFile(deb))
                        return false;
        // building the cache does not need the lock: read-only users (probes) can run beside apt.
        // The dependency cache (a state for every package of the lists) is built by the first call
        // that marks or resolves (GetDepCache()): a probe needs the policy alone.
        return s->cache->BuildCaches(&quiet, false) && s->cache->BuildPolicy(&quiet);
}

void aptshim::drop_status_cache(const AptShim *s) {
        if (!s->status_cache_file.empty())
                (void) unlink(s->status_cache_file.c_str());
}

bool aptshim::cache_ready(AptShim *s) {
        if (!s->stale)
                return true;
        if (!open_cache(s))
                return false;
        s->stale = false;
        return true;
}

extern "C" {

void apt_shim_set_sources(AptShim *s, const char *sourcelist, const char *sourceparts) {
        (void) s;
        _config->Set("Dir::Etc::sourcelist", sourcelist ? sourcelist : "sources.list");
        _config->Set("Dir::Etc::sourceparts", sourceparts ? sourceparts : "sources.list.d");
}

void apt_shim_set_local(AptShim *s, const char *const *debs, size_t packages) {
        if (debs && !s->local) {
                s->open_debs = s->debs;
                s->open_pkgcache = _config->Find("Dir::Cache::pkgcache");
                s->open_srcpkgcache = _config->Find("Dir::Cache::srcpkgcache");
        }
        if (debs) {
                s->debs.clear();
                for (size_t i = 0; debs[i]; i++)
                        s->debs.emplace_back(debs[i]);
                _config->Set("Dir::Cache::pkgcache", "");
                _config->Set("Dir::Cache::srcpkgcache", "");
                s->local = true;
                s->local_packages = packages;
        } else if (s->local) {
                s->local_packages = 0;
                s->debs = s->open_debs;
                _config->Set("Dir::Cache::pkgcache", s->open_pkgcache);
                _config->Set("Dir::Cache::srcpkgcache", s->open_srcpkgcache);
                s->local = false;
        }
}

int apt_shim_built(const AptShim *s) {
        return s->cache && !s->stale ? 1 : 0;
}

int apt_shim_ready(AptShim *s, char **reterr) {
        return cache_ready(s) ? 0 : fail(reterr, -EIO, "cannot open the package cache");
}

int apt_shim_reopen(AptShim *s, char **reterr) {
        (void) reterr; // the next call that reads the cache says when building it again fails
        s->cache.reset();
        s->protect.clear();
        // dpkg's status may have changed within the second the status cache was written, at the same
        // size: drop that cache (rebuilt from srcpkgcache.bin, which only the lists invalidate)
        drop_status_cache(s);
        s->stale = true;
        return 0;
}

} // extern "C"
