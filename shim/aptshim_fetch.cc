// The downloading half of the shim: the archives of the marked changes (installed through dpkg,
// or only fetched for a bundle) and single files. See aptshim.h.

#include <apt-pkg/acquire-item.h>
#include <apt-pkg/configuration.h>
#include <apt-pkg/depcache.h>
#include <apt-pkg/fileutl.h>
#include <apt-pkg/hashes.h>
#include <apt-pkg/indexfile.h>
#include <apt-pkg/packagemanager.h>
#include <apt-pkg/pkgrecords.h>
#include <apt-pkg/pkgsystem.h>
#include <apt-pkg/sourcelist.h>

#include <cerrno>

#include "aptshim_internal.h"

using namespace aptshim;

namespace {

// The result of every item of a finished download: -EIO naming those that failed, -EPERM naming
// those no trusted key signs.
int check_fetched(pkgAcquire &fetcher, char **reterr) {
        std::string failed, untrusted;
        for (auto it = fetcher.ItemsBegin(); it != fetcher.ItemsEnd(); ++it) {
                pkgAcquire::Item *item = *it;
                if (item->Status != pkgAcquire::Item::StatDone)
                        failed += (failed.empty() ? "" : "; ") + item->DescURI() + ": " + item->ErrorText;
                else if (!item->IsTrusted())
                        untrusted += (untrusted.empty() ? "" : ", ") + item->DescURI();
        }
        if (!failed.empty())
                return fail(reterr, -EIO, "cannot download " + failed);
        if (!untrusted.empty())
                return fail(reterr, -EPERM, "refusing unauthenticated archives (the repository is not signed by a trusted key): " + untrusted);
        return 0;
}

} // namespace

extern "C" {

int apt_shim_commit(AptShim *s, bool download_only, const AptProgress *p, char **reterr) {
        if (!download_only && !s->locked) {
                if (reterr)
                        *reterr = dup("internal error: installing without the dpkg lock");
                return -ENOLCK;
        }
        pkgDepCache *dc = s->cache->GetDepCache();
        AcqStatus status(p);
        pkgAcquire fetcher(&status);
        if (fetcher.GetLock(_config->FindDir("Dir::Cache::Archives")) == false)
                return fail(reterr, -EBUSY, "cannot lock the archive directory");
        pkgRecords recs(*dc);
        std::unique_ptr<pkgPackageManager> pm(_system->CreatePM(dc));
        if (!pm->GetArchives(&fetcher, s->cache->GetSourceList(), &recs))
                return fail(reterr, -EIO, "cannot find the archives to download");
        if (fetcher.Run() != pkgAcquire::Continue)
                return fail(reterr, -EIO, "downloading failed");
        int r = check_fetched(fetcher, reterr);
        if (r < 0)
                return r;
        if (download_only) {
                apt_shim_clear_marks(s);
                return 0;
        }
        InstallStatus inst(p);
        _system->UnLockInner(); // dpkg takes its own lock; we keep the frontend lock
        pkgPackageManager::OrderResult res = pm->DoInstall(&inst);
        bool relocked = _system->LockInner();
        if (res != pkgPackageManager::Completed)
                return fail(reterr, -EIO, "dpkg did not complete the installation");
        if (!relocked)
                return fail(reterr, -EIO, "cannot take the dpkg lock back after installing");
        return apt_shim_reopen(s, reterr);
}

void apt_archives_free(AptArchive *a, size_t n) {
        for (size_t i = 0; a && i < n; i++) {
                free(a[i].name);
                free(a[i].version);
                free(a[i].arch);
                free(a[i].path);
                free(a[i].uri);
                free(a[i].site);
                free(a[i].origin);
                free(a[i].label);
                free(a[i].suite);
                free(a[i].codename);
                free(a[i].record);
        }
        free(a);
}

int apt_shim_fetch_archives(AptShim *s, const AptProgress *p, AptArchive **ret, size_t *ret_n, char **reterr) {
        pkgDepCache *dc = s->cache->GetDepCache();
        pkgCache *c = s->cache->GetPkgCache();
        pkgSourceList *list = s->cache->GetSourceList();
        std::vector<pkgCache::VerIterator> vers;
        for (pkgCache::PkgIterator pkg = c->PkgBegin(); !pkg.end(); ++pkg) {
                pkgDepCache::StateCache &st = (*dc)[pkg];
                if (st.Delete() || !(st.NewInstall() || st.Upgrade() || st.Downgrade() || st.ReInstall()))
                        continue;
                pkgCache::VerIterator v = st.CandidateVerIter(*dc);
                if (!v.end())
                        vers.push_back(v);
        }
        // the items write the final file names here: these must outlive the fetcher
        std::vector<std::unique_ptr<std::string>> names;
        pkgRecords recs(*dc);
        AcqStatus status(p);
        pkgAcquire fetcher(&status);
        if (fetcher.GetLock(_config->FindDir("Dir::Cache::Archives")) == false)
                return fail(reterr, -EBUSY, "cannot lock the archive directory");
        for (auto &v : vers) {
                names.emplace_back(new std::string());
                new pkgAcqArchive(&fetcher, list, &recs, v, *names.back());
                if (_error->PendingError())
                        return fail(reterr, -EIO, std::string("cannot find the archive of ") + v.ParentPkg().FullName(true) + " " + v.VerStr());
        }
        if (fetcher.Run() != pkgAcquire::Continue)
                return fail(reterr, -EIO, "downloading failed");
        int r = check_fetched(fetcher, reterr);
        if (r < 0)
                return r;
        AptArchive *out = static_cast<AptArchive *>(calloc(vers.size() + 1, sizeof(AptArchive)));
        if (!out)
                abort();
        for (size_t i = 0; i < vers.size(); i++) {
                pkgCache::VerIterator &v = vers[i];
                AptArchive &a = out[i];
                a.name = dup(v.ParentPkg().Name());
                a.version = dup(v.VerStr());
                a.arch = dup(v.Arch() ? v.Arch() : "");
                a.path = dup(*names[i]);
                for (pkgCache::VerFileIterator vf = v.FileList(); !vf.end(); ++vf) {
                        pkgCache::PkgFileIterator pf = vf.File();
                        pkgIndexFile *idx = nullptr;
                        if (!list->FindIndex(pf, idx) || !idx)
                                continue;
                        pkgRecords::Parser &rec = recs.Lookup(vf);
                        const char *start = nullptr, *stop = nullptr;
                        rec.GetRec(start, stop);
                        a.record = dup(start && stop > start ? std::string(start, stop - start) : std::string());
                        a.uri = dup(idx->ArchiveURI(rec.FileName()));
                        a.site = dup(pf.Site() ? pf.Site() : "");
                        a.origin = dup(pf.Origin() ? pf.Origin() : "");
                        a.label = dup(pf.Label() ? pf.Label() : "");
                        a.suite = dup(pf.Archive() ? pf.Archive() : "");
                        a.codename = dup(pf.Codename() ? pf.Codename() : "");
                        break;
                }
                if (!a.record) {
                        apt_archives_free(out, vers.size());
                        if (reterr)
                                *reterr = dup(std::string("no repository offers ") + v.ParentPkg().FullName(true) + " " + v.VerStr());
                        return -ENOENT;
                }
        }
        apt_shim_clear_marks(s);
        *ret = out;
        *ret_n = vers.size();
        return 0;
}

int apt_shim_fetch_file(AptShim *s, const char *url, const char *sha256, const char *dest, char **reterr) {
        (void) s;
        AcqStatus status(nullptr);
        pkgAcquire fetcher(&status);
        HashStringList hashes;
        if (sha256 && *sha256)
                hashes.push_back(HashString("SHA256", sha256));
        new pkgAcqFile(&fetcher, url, hashes, 0, url, flNotDir(url), "", dest);
        if (fetcher.Run() != pkgAcquire::Continue)
                return fail(reterr, -EIO, std::string("downloading ") + url + " failed");
        for (auto it = fetcher.ItemsBegin(); it != fetcher.ItemsEnd(); ++it)
                if ((*it)->Status != pkgAcquire::Item::StatDone)
                        return fail(reterr, -EIO, std::string("cannot download ") + url + ": " + (*it)->ErrorText);
        return 0;
}

} // extern "C"
