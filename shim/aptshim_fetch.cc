// The downloading half of the shim: the archives of the marked changes (installed through dpkg,
// or only fetched for a bundle) and single files. See aptshim.h.

#include <apt-pkg/acquire-item.h>
#include <apt-pkg/configuration.h>
#include <apt-pkg/depcache.h>
#include <apt-pkg/fileutl.h>
#include <apt-pkg/hashes.h>
#include <apt-pkg/indexfile.h>
#include <apt-pkg/metaindex.h>
#include <apt-pkg/packagemanager.h>
#include <apt-pkg/pkgrecords.h>
#include <apt-pkg/pkgsystem.h>
#include <apt-pkg/sourcelist.h>
#include <apt-pkg/strutl.h>

#include <cerrno>
#include <fcntl.h>
#include <set>
#include <sys/stat.h>

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

// A path under a repository's URI: what follows the URI in uri (which starts with it).
std::string under(const std::string &base, const std::string &uri) {
        std::string rel = uri.compare(0, base.size(), base) == 0 ? uri.substr(base.size()) : flNotDir(uri);
        while (rel.compare(0, 2, "./") == 0)
                rel.erase(0, 2);
        while (!rel.empty() && rel[0] == '/')
                rel.erase(0, 1);
        return rel;
}

// mkdir -p path (libapt's CreateDirectory() wants an existing parent to start from).
bool mkdirs(const std::string &path) {
        for (size_t i = 1; i <= path.size(); i++)
                if ((i == path.size() || path[i] == '/') && mkdir(path.substr(0, i).c_str(), 0755) < 0 &&
                    errno != EEXIST)
                        return _error->Errno("mkdir", "cannot create %s", path.substr(0, i).c_str());
        return true;
}

// A copy of file at dir/rel (its directories created); false with apt's error pending.
bool save_copy(const std::string &file, const std::string &dir, const std::string &rel) {
        std::string to = dir + "/" + rel;
        if (!mkdirs(flNotFile(to)))
                return false;
        FileFd in(file, FileFd::ReadOnly), out(to, FileFd::WriteAtomic, 0644);
        return in.IsOpen() && out.IsOpen() && CopyFile(in, out) && out.Close();
}

// A by-hash copy of dir/rel, when the repository serves its indexes that way.
bool save_by_hash(metaIndex *m, const std::string &dir, const std::string &rel, HashStringList const &hashes) {
        HashString const *sum = hashes.find("SHA256");
        if (!m->GetSupportsAcquireByHash() || !sum)
                return true;
        return save_copy(dir + "/" + rel, dir, flNotFile(rel) + "by-hash/SHA256/" + sum->HashValue());
}

// Every form of one Packages index the InRelease lists, downloaded again (each checked against the
// InRelease) to its path under the repository, so that a later apt finds whichever form it asks for.
// false with apt's error pending.
bool save_index(metaIndex *m, IndexTarget const &t, const std::string &dir, pkgAcquire &fetcher) {
        const std::string rel = under(m->GetURI(), t.URI);
        for (std::string const &ext : {std::string(), std::string(".xz"), std::string(".gz"), std::string(".bz2"),
                                       std::string(".lzma"), std::string(".zst"), std::string(".lz4")}) {
                metaIndex::checkSum *c = m->Lookup(t.MetaKey + ext);
                if (!c)
                        continue;
                std::string to = dir;
                to.append("/").append(rel).append(ext);
                if (!mkdirs(flNotFile(to)))
                        return false;
                new pkgAcqFile(&fetcher, t.URI + ext, c->Hashes, c->Size, t.Description + ext, flNotDir(to), "", to);
        }
        return true;
}

// The InRelease and the Packages indexes of one repository into dir.
int save_repository(metaIndex *m, const std::string &dir, char **reterr) {
        const std::string lists = _config->FindDir("Dir::State::lists"), base = m->GetURI();
        std::string inrelease = lists + URItoFileName(m->ArchiveURI("InRelease"));
        if (!FileExists(inrelease))
                return fail(reterr, -ENOENT, "no signed InRelease of " + m->Describe());
        if (!save_copy(inrelease, dir, under(base, m->ArchiveURI("InRelease"))))
                return fail(reterr, -EIO, "cannot copy the InRelease of " + m->Describe());
        // the hashes it lists (apt verified its signature in the update; a fresh cache has not read it)
        std::string why;
        if (m->GetLoadedSuccessfully() != metaIndex::TRI_YES && !m->Load(inrelease, &why))
                return fail(reterr, -EIO, "cannot read the InRelease of " + m->Describe() + ": " + why);
        AcqStatus status(nullptr);
        pkgAcquire fetcher(&status);
        std::set<std::string> components;
        for (IndexTarget const &t : m->GetIndexTargets()) {
                if (t.Option(IndexTarget::CREATED_BY) != "Packages" || t.Option(IndexTarget::EXISTING_FILENAME).empty())
                        continue; // not a Packages index, or one of an architecture the repository does not publish
                components.insert(t.Option(IndexTarget::COMPONENT));
                if (!save_index(m, t, dir, fetcher))
                        return fail(reterr, -EIO, "cannot copy " + t.Description);
        }
        if (fetcher.Run() != pkgAcquire::Continue)
                return fail(reterr, -EIO, "cannot download the indexes of " + m->Describe());
        for (auto it = fetcher.ItemsBegin(); it != fetcher.ItemsEnd(); ++it) {
                if ((*it)->Status != pkgAcquire::Item::StatDone)
                        return fail(reterr, -EIO, "cannot download " + (*it)->DescURI() + ": " + (*it)->ErrorText);
                std::string rel = under(dir + "/", (*it)->DestFile);
                if (!save_by_hash(m, dir, rel, (*it)->GetExpectedHashes()))
                        return fail(reterr, -EIO, "cannot copy " + (*it)->DestFile);
        }
        std::string text = base + "\n" + m->GetDist() + "\n";
        for (std::string const &c : components)
                text += (c == *components.begin() ? "" : " ") + c;
        FileFd out(dir + "/repository", FileFd::WriteAtomic, 0644);
        if (!out.IsOpen() || !out.Write((text + "\n").c_str(), text.size() + 1) || !out.Close())
                return fail(reterr, -EIO, "cannot write " + dir + "/repository");
        return 0;
}

// Our stdout and stderr back from dpkg's log (saved_* < 0: not redirected, nothing to do).
static void restore_output(int saved_out, int saved_err) {
        fflush(stdout);
        fflush(stderr);
        if (saved_out >= 0) {
                (void) dup2(saved_out, STDOUT_FILENO);
                close(saved_out);
        }
        if (saved_err >= 0) {
                (void) dup2(saved_err, STDERR_FILENO);
                close(saved_err);
        }
}

} // namespace

extern "C" {

int apt_shim_save_signed_indexes(AptShim *s, const char *dest, char **reterr) {
        _error->Discard(); // what the update left pending is not about this
        if (!cache_ready(s))
                return fail(reterr, -EIO, "cannot reopen the package cache");
        pkgSourceList *list = s->cache->GetSourceList();
        unsigned n = 0;
        for (auto it = list->begin(); it != list->end(); ++it) {
                int r = save_repository(*it, std::string(dest) + "/" + std::to_string(++n), reterr);
                if (r < 0)
                        return r;
        }
        return 0;
}

int apt_shim_commit(AptShim *s, bool download_only, const AptProgress *p, char **reterr) {
        if (!download_only && !s->locked) {
                if (reterr)
                        *reterr = dup("internal error: installing without the dpkg lock");
                return -ENOLCK;
        }
        pkgDepCache *dc = depcache(s);
        if (!dc)
                return fail(reterr, -EIO, "cannot open the package cache");
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
        int saved_out = -1, saved_err = -1;
        if (s->dpkg_output_fd > 0) {
                // dpkg and its maintainer scripts inherit our stdout and stderr: point them at the log
                // while it runs, so that they never write into the progress line
                fflush(stdout);
                fflush(stderr);
                saved_out = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
                saved_err = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
                if (saved_out < 0 || saved_err < 0 || dup2(s->dpkg_output_fd, STDOUT_FILENO) < 0 ||
                    dup2(s->dpkg_output_fd, STDERR_FILENO) < 0) {
                        restore_output(saved_out, saved_err);
                        return fail(reterr, -EIO, "cannot send dpkg's output to its log");
                }
                inst.redirect(saved_out, saved_err, s->dpkg_output_fd);
        }
        _system->UnLockInner(); // dpkg takes its own lock; we keep the frontend lock
        // after dpkg, libapt's pkgDPkgPM::Go() rebuilds both cache files in this process (for the next
        // apt command) when it finds pkgcache.bin, over every package of the lists and the sources
        // as they are now: gpubase builds them when it next reads the cache (apt_shim_reopen()), so
        // drop it before. Stale once dpkg ran anyway; the open cache is a mapping that stays.
        drop_status_cache(s);
        pkgPackageManager::OrderResult res = pm->DoInstall(&inst);
        restore_output(saved_out, saved_err);
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
        pkgDepCache *dc = depcache(s);
        if (!dc)
                return fail(reterr, -EIO, "cannot open the package cache");
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
