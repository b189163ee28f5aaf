// The libapt-pkg side of gpubase: C++ in, C out. Everything libapt-specific stays in shim/: this
// file has the session, the queries and the marks; aptshim_cache.cc the cache; aptshim_fetch.cc the
// downloads and the installation. shim/README.md has the facts it rests on (alternate root, locks,
// holds).

#include "aptshim_internal.h"

#include <apt-pkg/acquire-item.h>
#include <apt-pkg/acquire.h>
#include <apt-pkg/algorithms.h>
#include <apt-pkg/aptconfiguration.h>
#include <apt-pkg/cachefile.h>
#include <apt-pkg/configuration.h>
#include <apt-pkg/debversion.h>
#include <apt-pkg/depcache.h>
#include <apt-pkg/error.h>
#include <apt-pkg/fileutl.h>
#include <apt-pkg/hashes.h>
#include <apt-pkg/indexfile.h>
#include <apt-pkg/init.h>
#include <apt-pkg/install-progress.h>
#include <apt-pkg/packagemanager.h>
#include <apt-pkg/pkgcache.h>
#include <apt-pkg/pkgrecords.h>
#include <apt-pkg/pkgsystem.h>
#include <apt-pkg/policy.h>
#include <apt-pkg/progress.h>
#include <apt-pkg/sourcelist.h>
#include <apt-pkg/update.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

using namespace aptshim;

namespace {

bool lock_error(const std::string &m) {
        return m.find("Could not get lock") != std::string::npos || m.find("Unable to acquire") != std::string::npos ||
               m.find("is held by process") != std::string::npos;
}

pkgCache::VerIterator find_ver(pkgCache::PkgIterator &pkg, const char *version) {
        for (pkgCache::VerIterator v = pkg.VersionList(); !v.end(); ++v)
                if (strcmp(v.VerStr(), version) == 0)
                        return v;
        return pkgCache::VerIterator();
}

std::string versions_of(pkgCache::PkgIterator &pkg) {
        std::string out;
        for (pkgCache::VerIterator v = pkg.VersionList(); !v.end(); ++v) {
                if (!out.empty())
                        out += ", ";
                out += v.VerStr();
        }
        return out.empty() ? "none" : out;
}

int unknown_package(const char *name, char **reterr) {
        if (reterr)
                *reterr = dup(std::string("package ") + name + " is not known to apt (is its repository configured and updated?)");
        return -ENOENT;
}

int unknown_version(pkgCache::PkgIterator &pkg, const char *name, const char *version, char **reterr) {
        if (reterr)
                *reterr = dup(std::string(name) + " has no version " + version + " (known: " + versions_of(pkg) + ")");
        return -ENOENT;
}

} // namespace

extern "C" {

// dpkg under --root: its root and log there; the maintainer scripts chrooted into it only for an
// image (gpubase --image), else run here (the sandboxes of the tests have no shell of their own).
static void set_root_dpkg_options(AptShim *s, const AptOptions *o) {
        s->dpkg_opts = {"--root=" + s->root, "--log=" + s->root + "/var/log/dpkg.log"};
        if (!o->chroot_scripts)
                s->dpkg_opts.push_back("--force-script-chrootless");
        else // hooks of the tree's apt.conf.d are commands meant for the tree, not this machine
                for (const char *hook : {"DPkg::Pre-Invoke", "DPkg::Post-Invoke", "DPkg::Pre-Install-Pkgs"})
                        _config->Clear(hook);
        if (geteuid() != 0)
                s->dpkg_opts.push_back("--force-not-root");
        for (auto &opt : s->dpkg_opts)
                _config->Set("DPkg::Options::", opt);
        // the test roots are private directories the _apt sandbox user cannot enter
        _config->Set("APT::Sandbox::User", "root");
}

// What the session keeps of the options.
static void take_options(AptShim *s, const AptOptions *o) {
        for (size_t i = 0; o->debs && o->debs[i]; i++)
                s->debs.push_back(o->debs[i]);
        s->dpkg_output_fd = o->dpkg_output_fd;
        s->lock_wait = o->lock_wait;
        s->lock_userdata = o->lock_userdata;
        s->lock_timeout = o->lock_timeout_sec;
        s->deferred = o->deferred;
}

int apt_shim_open(const AptOptions *o, AptShim **ret, char **reterr) {
        std::unique_ptr<AptShim> s(new AptShim());
        s->root = o->root ? o->root : "";
        _error->Discard();

        // A fresh Configuration for every open: clearing an old one keeps stale absolute paths.
        delete _config;
        _config = new Configuration;
        if (!s->root.empty())
                _config->Set("Dir", s->root + "/"); // before pkgInitConfig: everything is read from the root
        if (!pkgInitConfig(*_config))
                return fail(reterr, -EIO, "cannot read apt's configuration");
        if (o->sourcelist)
                _config->Set("Dir::Etc::sourcelist", o->sourcelist);
        if (o->sourceparts)
                _config->Set("Dir::Etc::sourceparts", o->sourceparts);
        _config->Set("DPkg::Lock::Timeout", std::to_string(o->lock_timeout_sec));
        _config->Set("Acquire::Languages", "none");
        _config->Set("Dpkg::Use-Pty", "false");
        _config->Set("Dpkg::Progress-Fancy", "false");
        _config->Set("APT::Get::AllowUnauthenticated", "false");
        _config->Set("APT::Keep-Downloaded-Packages", "true"); // prefetched archives must survive
        _config->Set("Acquire::Retries", "3");
        // apt's planner log (eipp.log.xz: the whole install request, xz-compressed at every install)
        // is for debugging external planners; compressing it was a tenth of gpubase's own time in a
        // cold run on a real host's lists. dpkg's and apt's own logs (term.log, history.log) stay.
        _config->Set("Dir::Log::Planner", "");
        // the architectures dpkg is configured for: without them libapt runs
        // `dpkg --print-foreign-architectures` at every open
        for (size_t i = 0; o->architectures && o->architectures[i]; i++) {
                if (i == 0) {
                        _config->Set("APT::Architecture", o->architectures[0]);
                        _config->Clear("APT::Architectures");
                }
                _config->Set("APT::Architectures::", o->architectures[i]);
        }
        if (o->scratch) {
                std::string d = o->scratch;
                _config->Set("Dir::State::Lists", d + "/lists/");
                _config->Set("Dir::Cache::Archives", d + "/archives/");
        }
        if (o->quiet)
                _config->Set("quiet", "2");
        if (!s->root.empty())
                set_root_dpkg_options(s.get(), o);
        for (auto &opt : s->dpkg_opts)
                s->dpkg_opts_c.push_back(opt.c_str());
        s->dpkg_opts_c.push_back(nullptr);
        // libapt works these out once per process and keeps them: again from this fresh configuration
        // (the compressors write their defaults into it; a process whose first session only
        // downloaded saw compressed lists as absent). take_options(): after, for the analyser.
        (void) APT::Configuration::getCompressors(false);
        (void) APT::Configuration::getCompressionTypes(false);
        (void) APT::Configuration::getArchitectures(false);
        // the analyser loses track of the global reassigned after its delete above (a new Configuration)
        if (!pkgInitSystem(*_config, _system)) // NOLINT(clang-analyzer-cplusplus.NewDelete)
                return fail(reterr, -EIO, "cannot initialise apt's packaging system");
        // the status file is known only now; a fresh root without one has nothing installed
        if ((o->readonly || o->scratch) && !FileExists(_config->FindFile("Dir::State::status")))
                _config->Set("Dir::State::status", "/dev/null");
        if (o->force_confmiss)
                _config->Set("DPkg::Options::", "--force-confmiss");
        take_options(s.get(), o);
        cache_options(s.get(), o);
        if (o->deferred)
                s->stale = true;
        else if (!open_cache(s.get()))
                return fail(reterr, -EIO, "cannot open the package cache");
        *ret = s.release();
        return 0;
}

void apt_shim_close(AptShim *s) {
        if (!s)
                return;
        s->cache.reset();
        if (s->locked)
                _system->UnLock(true);
        _error->Discard();
        delete s;
}

const char *const *apt_shim_dpkg_options(AptShim *s) {
        return s->dpkg_opts_c.data();
}

int apt_shim_lock(AptShim *s, char **reterr) {
        if (s->locked)
                return 0;
        LockWait wait(s); // DPkg::Lock::Timeout is honoured only with a progress object
        if (!_system->Lock(&wait)) {
                std::string m = pop_errors();
                if (reterr)
                        *reterr = dup(m);
                return lock_error(m) ? -EBUSY : -EIO;
        }
        s->locked = true;
        return 0;
}

void apt_shim_unlock(AptShim *s) {
        if (!s->locked)
                return;
        _system->UnLock(true);
        s->locked = false;
}

int apt_shim_release_inner(AptShim *s) {
        if (s->locked)
                _system->UnLockInner(true);
        return 0;
}

int apt_shim_retake_inner(AptShim *s, char **reterr) {
        if (s->locked && !_system->LockInner())
                return fail(reterr, -EBUSY, "cannot take the dpkg lock back");
        return 0;
}

int apt_shim_update(AptShim *s, const AptProgress *p, char **reterr) {
        // the sources alone: a cache over the lists about to be replaced would be thrown away
        if (!s->cache)
                s->cache.reset(new pkgCacheFile());
        AcqStatus status(p);
        pkgSourceList *list = s->cache->GetSourceList();
        if (!list)
                return fail(reterr, -EIO, "cannot read the sources");
        if (!ListUpdate(status, *list)) {
                if (reterr)
                        *reterr = dup("updating the package lists failed: " + pop_errors(true));
                return -EIO;
        }
        std::string warn = pop_errors(); // warnings of a successful update are not failures
        (void) warn;
        pkgCacheFile::RemoveCaches(); // as apt update does: both caches, the lists changed
        (void) apt_shim_reopen(s, reterr);
        // at once: lists that do not parse are the update's failure. A deferred session builds its
        // cache when it first reads it, over the sources it reads then (perhaps not all of them)
        if (s->deferred)
                return 0;
        return cache_ready(s) ? 0 : fail(reterr, -EIO, "cannot reopen the package cache");
}

void apt_package_done(AptPackage *p) {
        free(p->name);
        free(p->installed);
        free(p->candidate);
        for (size_t i = 0; p->versions && p->versions[i]; i++)
                free(p->versions[i]);
        free(p->versions);
        free(p->priorities);
        memset(p, 0, sizeof *p);
}

int apt_shim_package(AptShim *s, const char *name, AptPackage *ret) {
        if (!cache_ready(s))
                return -EIO;
        pkgCache::PkgIterator pkg = find_pkg(s, name);
        if (pkg.end())
                return -ENOENT;
        pkgPolicy *pol = s->cache->GetPolicy();
        if (!pol)
                return -EIO;
        AptPackage p;
        memset(&p, 0, sizeof p);
        p.name = dup(name);
        pkgCache::VerIterator cur = pkg.CurrentVer();
        if (!cur.end()) {
                p.installed = dup(cur.VerStr());
                p.installed_ok = pkg->CurrentState == pkgCache::State::Installed;
        }
        p.held = pkg->SelectedState == pkgCache::State::Hold;
        pkgCache::VerIterator cand = pol->GetCandidateVer(pkg);
        if (!cand.end()) {
                p.candidate = dup(cand.VerStr());
                p.candidate_priority = pol->GetPriority(cand);
        }
        size_t n = 0;
        for (pkgCache::VerIterator v = pkg.VersionList(); !v.end(); ++v)
                n++;
        p.versions = static_cast<char **>(calloc(n + 1, sizeof(char *)));
        p.priorities = static_cast<int *>(calloc(n + 1, sizeof(int)));
        if (!p.versions || !p.priorities)
                abort();
        n = 0;
        for (pkgCache::VerIterator v = pkg.VersionList(); !v.end(); ++v) {
                p.priorities[n] = pol->GetPriority(v);
                p.versions[n++] = dup(v.VerStr());
        }
        *ret = p;
        return 0;
}

int apt_shim_version_origins(AptShim *s, const char *name, const char *version, char ***ret) {
        if (!cache_ready(s))
                return -EIO;
        pkgCache::PkgIterator pkg = find_pkg(s, name);
        if (pkg.end())
                return -ENOENT;
        pkgCache::VerIterator v = find_ver(pkg, version);
        if (v.end())
                return -ENOENT;
        pkgSourceList *list = s->cache->GetSourceList();
        std::vector<std::string> out;
        for (pkgCache::VerFileIterator vf = v.FileList(); !vf.end(); ++vf) {
                pkgCache::PkgFileIterator pf = vf.File();
                pkgIndexFile *idx = nullptr;
                if (!list || !list->FindIndex(pf, idx) || !idx)
                        continue; // the dpkg status file: installed, not offered
                std::string line = std::string(pf.Site() ? pf.Site() : "") + "|" + (pf.Archive() ? pf.Archive() : "") +
                                   "|" + (pf.Origin() ? pf.Origin() : "") + "|" + idx->ArchiveURI("");
                out.push_back(line);
        }
        char **l = static_cast<char **>(calloc(out.size() + 1, sizeof(char *)));
        if (!l)
                abort();
        for (size_t i = 0; i < out.size(); i++)
                l[i] = dup(out[i]);
        *ret = l;
        return (int) out.size();
}

int apt_shim_set_candidate(AptShim *s, const char *name, const char *version, char **reterr) {
        pkgDepCache *dc = depcache(s);
        if (!dc)
                return fail(reterr, -EIO, "cannot open the package cache");
        pkgCache::PkgIterator pkg = find_pkg(s, name);
        if (pkg.end())
                return unknown_package(name, reterr);
        pkgCache::VerIterator v = find_ver(pkg, version);
        if (v.end())
                return unknown_version(pkg, name, version, reterr);
        dc->SetCandidateVersion(v);
        align_exact_deps(dc, v, 0);
        return 0;
}

int apt_shim_mark_reinstall(AptShim *s, const char *name, char **reterr) {
        pkgDepCache *dc = depcache(s);
        if (!dc)
                return fail(reterr, -EIO, "cannot open the package cache");
        pkgCache::PkgIterator pkg = find_pkg(s, name);
        if (pkg.end() || pkg.CurrentVer().end()) {
                if (reterr)
                        *reterr = dup(std::string(name) + " is not installed");
                return -ENOENT;
        }
        dc->SetReInstall(pkg, true);
        s->protect.push_back(pkg.FullName(false));
        return 0;
}

int apt_shim_mark_install(AptShim *s, const char *name, const char *version, char **reterr) {
        pkgDepCache *dc = depcache(s);
        if (!dc)
                return fail(reterr, -EIO, "cannot open the package cache");
        pkgCache::PkgIterator pkg = find_pkg(s, name);
        if (pkg.end() || (pkg.VersionList().end() && pkg->ProvidesList == 0))
                return unknown_package(name, reterr);
        if (version) {
                pkgCache::VerIterator v = find_ver(pkg, version);
                if (v.end())
                        return unknown_version(pkg, name, version, reterr);
                dc->SetCandidateVersion(v);
        }
        pkgCache::VerIterator target = dc->GetCandidateVersion(pkg);
        if (!target.end())
                align_exact_deps(dc, target, 0);
        pkgDepCache::ActionGroup group(*dc);
        if (!dc->MarkInstall(pkg, true, 0, true))
                return fail(reterr, -EIO, std::string("cannot mark ") + name + " for installation");
        s->protect.push_back(pkg.FullName(false));
        return 0;
}

void apt_shim_clear_marks(AptShim *s) {
        s->protect.clear();
        if (s->stale || !s->cache->IsDepCacheBuilt()) // nothing marked yet
                return;
        pkgDepCache *dc = s->cache->GetDepCache();
        pkgDepCache::ActionGroup group(*dc);
        dc->Init(nullptr);
}

// A dpkg run cut off mid-unpack leaves packages that must be reinstalled (dpkg's reinstreq flag,
// half-installed): dpkg will not configure them, and their stanza in dpkg's status may be too
// incomplete for apt to see it as the repository's version of the same number ("Can't find a source
// to download version"). Reinstall each from a downloadable version with that number, when there is
// one; `apt-get` would stop and ask for a manual repair.
static void mark_reinstall_required(AptShim *s) {
        pkgDepCache *dc = s->cache->GetDepCache();
        pkgCache *c = s->cache->GetPkgCache();
        for (pkgCache::PkgIterator pkg = c->PkgBegin(); !pkg.end(); ++pkg) {
                pkgCache::VerIterator cur = pkg.CurrentVer();
                if (cur.end() || (pkg->InstState != pkgCache::State::ReInstReq && pkg->InstState != pkgCache::State::HoldReInstReq &&
                                  pkg->CurrentState != pkgCache::State::HalfInstalled))
                        continue;
                for (pkgCache::VerIterator v = pkg.VersionList(); !v.end(); ++v) {
                        if (strcmp(v.VerStr(), cur.VerStr()) != 0)
                                continue;
                        bool downloadable = false;
                        for (pkgCache::VerFileIterator vf = v.FileList(); !vf.end() && !downloadable; ++vf)
                                downloadable = (vf.File()->Flags & pkgCache::Flag::NotSource) == 0;
                        if (!downloadable)
                                continue;
                        dc->SetCandidateVersion(v);
                        dc->MarkInstall(pkg, false, 0, true);
                        dc->SetReInstall(pkg, true);
                        break;
                }
        }
}

int apt_shim_resolve(AptShim *s, char ***ret_changes, char **reterr) {
        pkgDepCache *dc = depcache(s);
        if (!dc)
                return fail(reterr, -EIO, "cannot open the package cache");
        mark_reinstall_required(s);
        pkgProblemResolver fix(dc);
        pkgCache *c = s->cache->GetPkgCache();
        for (auto &name : s->protect) {
                pkgCache::PkgIterator pkg = c->FindPkg(name);
                if (pkg.end())
                        continue;
                fix.Clear(pkg);
                fix.Protect(pkg);
        }
        bool ok = fix.Resolve(true);
        if (!ok || dc->BrokenCount() != 0) {
                std::string broken;
                for (pkgCache::PkgIterator pkg = c->PkgBegin(); !pkg.end(); ++pkg)
                        if ((*dc)[pkg].InstBroken() || (*dc)[pkg].NowBroken()) {
                                if (!broken.empty())
                                        broken += ", ";
                                broken += pkg.FullName(true);
                        }
                return fail(reterr, -EIO, "the packages cannot be resolved" + (broken.empty() ? std::string() : " (broken: " + broken + ")"));
        }
        std::vector<std::string> changes, removals;
        for (pkgCache::PkgIterator pkg = c->PkgBegin(); !pkg.end(); ++pkg) {
                pkgDepCache::StateCache &st = (*dc)[pkg];
                if (st.Delete())
                        removals.push_back(pkg.FullName(true));
                else if (st.NewInstall() || st.Upgrade() || st.Downgrade() || st.ReInstall())
                        changes.push_back(pkg.FullName(true) + " " + st.CandVersion);
        }
        if (!removals.empty()) {
                std::string r;
                for (auto &x : removals)
                        r += (r.empty() ? "" : ", ") + x;
                return fail(reterr, -EPERM, "resolving would remove " + r + "; gpubase does not remove packages implicitly");
        }
        if (ret_changes) {
                char **l = static_cast<char **>(calloc(changes.size() + 1, sizeof(char *)));
                if (!l)
                        abort();
                for (size_t i = 0; i < changes.size(); i++)
                        l[i] = dup(changes[i]);
                *ret_changes = l;
        }
        return (int) changes.size();
}

int apt_shim_version_sha256(AptShim *s, const char *name, const char *version, char **ret_sha256, char **ret_uri,
                            char **reterr) {
        if (!cache_ready(s))
                return fail(reterr, -EIO, "cannot reopen the package cache");
        pkgCache::PkgIterator pkg = find_pkg(s, name);
        pkgCache::VerIterator ver;
        if (!pkg.end())
                ver = find_ver(pkg, version);
        if (pkg.end() || ver.end()) {
                if (reterr)
                        *reterr = dup(std::string("no index lists ") + name + " " + version +
                                      (pkg.end() ? "" : " (it lists " + versions_of(pkg) + ")"));
                return -ENOENT;
        }
        pkgSourceList *list = s->cache->GetSourceList();
        pkgRecords recs(*s->cache->GetPkgCache());
        std::string untrusted;
        for (pkgCache::VerFileIterator vf = ver.FileList(); !vf.end(); ++vf) {
                pkgIndexFile *idx = nullptr;
                if (!list->FindIndex(vf.File(), idx) || !idx)
                        continue; // the dpkg status or a local .deb: not a repository's word
                pkgRecords::Parser &rec = recs.Lookup(vf);
                if (!idx->IsTrusted()) {
                        untrusted = idx->ArchiveURI(rec.FileName());
                        continue;
                }
                HashStringList const hashes = rec.Hashes(); // find() points into it
                HashString const *h = hashes.find("SHA256");
                if (!h)
                        continue;
                *ret_sha256 = dup(h->HashValue());
                if (ret_uri)
                        *ret_uri = dup(idx->ArchiveURI(rec.FileName()));
                return 0;
        }
        if (reterr)
                *reterr = dup(untrusted.empty() ? std::string("no signed index gives a SHA256 for ") + name + " " + version
                                                : "the index listing " + untrusted + " is not signed by a trusted key");
        return -EPERM;
}

int apt_shim_version_cmp(const char *a, const char *b) {
        return debVS.CmpVersion(a, b);
}

} // extern "C"
