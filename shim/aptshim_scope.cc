// Scoped resolution (agent/steps/apt_install_set.c): which package names each sources file's
// indexes offer, and whether a resolution made over some of the files stands for all of them.
//
// The names are read from the lists on disk in one pass (libapt's FileFd undoes their compression)
// instead of through libapt's cache: building that cache is what a scoped session saves (63,000
// packages on a Debian host, most of an install's own time), and only the names are needed here.
// Written by hand because libapt has no reader cheaper than its cache for this; it is a scan of two
// fields, Package and Provides, whose syntax is Debian policy's (§5.6.1, §7.5). What a list offers
// is kept beside it in gpubase's cache directory (one file per list, valid while the list is the
// same file: inode, size and mtime), so that the next process does not read the list again.

#include "aptshim_internal.h"

#include <apt-pkg/configuration.h>
#include <apt-pkg/depcache.h>
#include <apt-pkg/fileutl.h>
#include <apt-pkg/indexfile.h>
#include <apt-pkg/metaindex.h>
#include <apt-pkg/sourcelist.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <memory>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <string_view>
#include <utility>
#include <vector>

// For each package index, the hashes (FNV-1a, 64 bits) of the names it offers, sorted. Two names of
// one hash only make an index look like it offers both: the check then leaves the scope, never
// wrongly stays in it.
struct AptNames {
        std::vector<std::pair<uint64_t, std::vector<uint64_t>>> indexes; // (file bit, hashes)
};

namespace {

constexpr uint64_t FNV_OFFSET = 0xcbf29ce484222325ULL, FNV_PRIME = 0x100000001b3ULL;

uint64_t name_hash(std::string_view n) {
        uint64_t h = FNV_OFFSET;
        for (char c : n)
                h = (h ^ static_cast<unsigned char>(c)) * FNV_PRIME;
        return h;
}

bool field_is(std::string_view line, std::string_view name) {
        return line.size() > name.size() && line[name.size()] == ':' &&
               strncasecmp(line.data(), name.data(), name.size()) == 0;
}

// "a (>= 1), b:any, c" -> the hashes of a, b, c
void add_list(std::vector<uint64_t> *out, std::string_view v) {
        const char *p = v.data(), *end = p + v.size();
        while (p < end) {
                while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
                        p++;
                uint64_t h = FNV_OFFSET;
                const char *b = p;
                for (; p < end && *p != ' ' && *p != '\t' && *p != '(' && *p != ':' && *p != ','; p++)
                        h = (h ^ static_cast<unsigned char>(*p)) * FNV_PRIME;
                if (p > b)
                        out->push_back(h);
                const void *comma = memchr(p, ',', static_cast<size_t>(end - p));
                p = comma ? static_cast<const char *>(comma) : end;
        }
}

// The lines of one index that matter: Package's value, Provides' (and its continuation lines).
// Only a line that starts with P (field names are case-insensitive) or continues a Provides is
// looked at: most of a Packages file is other fields.
struct Scanner {
        std::vector<uint64_t> *out;
        bool in_provides = false;
        void line(const char *l, size_t n) {
                if (n > 0 && (l[0] == ' ' || l[0] == '\t')) {
                        if (in_provides)
                                add_list(out, std::string_view(l, n));
                        return;
                }
                in_provides = false;
                std::string_view v(l, n);
                if (field_is(v, "Package"))
                        add_list(out, v.substr(8));
                else if (field_is(v, "Provides")) {
                        add_list(out, v.substr(9));
                        in_provides = true;
                }
        }
        // text: whole lines, each ended by '\n'
        void lines(const char *text, size_t n) {
                const char *p = text, *end = text + n;
                while (p < end) {
                        const char *nl = static_cast<const char *>(memchr(p, '\n', static_cast<size_t>(end - p)));
                        if (!nl)
                                nl = end;
                        char c = *p;
                        if (c == 'P' || c == 'p' || (in_provides && (c == ' ' || c == '\t')))
                                line(p, static_cast<size_t>(nl - p));
                        else if (c != ' ' && c != '\t')
                                in_provides = false;
                        p = nl + 1;
                }
        }
};

bool scan_index(const std::string &path, std::vector<uint64_t> *out) {
        FileFd f;
        if (!f.Open(path, FileFd::ReadOnly, FileFd::Extension))
                return false;
        Scanner sc{out};
        size_t size = 1 << 20;
        std::unique_ptr<char[]> buf(new char[size]); // (not zeroed: read into)
        size_t have = 0;                              // bytes of a line cut by the last read, at the start
        for (;;) {
                if (have == size) { // a line longer than the buffer
                        std::unique_ptr<char[]> bigger(new char[size * 2]);
                        memcpy(bigger.get(), buf.get(), have);
                        buf = std::move(bigger);
                        size *= 2;
                }
                unsigned long long got = 0;
                if (!f.Read(buf.get() + have, size - have, &got))
                        return false;
                if (got == 0)
                        break;
                size_t n = have + got, last = n;
                while (last > 0 && buf[last - 1] != '\n')
                        last--;
                sc.lines(buf.get(), last);
                have = n - last;
                memmove(buf.get(), buf.get() + last, have);
        }
        sc.lines(buf.get(), have);
        std::sort(out->begin(), out->end());
        out->erase(std::unique(out->begin(), out->end()), out->end());
        return true;
}

// ---- the cache: DIR/<list's file name>.names

constexpr char CACHE_MAGIC[16] = {'g', 'p', 'u', 'b', 'a', 's', 'e', '-', 'n', 'a', 'm', 'e', 's', ' ', '1', '\n'};

struct CacheHeader {
        char magic[16];
        uint64_t ino, size, mtime_sec, mtime_nsec, count, sum; // sum: of the hashes, wrapping
};

uint64_t sum_of(const std::vector<uint64_t> &v) {
        uint64_t sum = v.size();
        for (uint64_t x : v)
                sum = sum * 31 + x;
        return sum;
}

CacheHeader header_for(const struct stat &st, const std::vector<uint64_t> &v) {
        CacheHeader h{};
        memcpy(h.magic, CACHE_MAGIC, sizeof h.magic);
        h.ino = st.st_ino;
        h.size = static_cast<uint64_t>(st.st_size);
        h.mtime_sec = static_cast<uint64_t>(st.st_mtim.tv_sec);
        h.mtime_nsec = static_cast<uint64_t>(st.st_mtim.tv_nsec);
        h.count = v.size();
        h.sum = sum_of(v);
        return h;
}

// The cached names of the list whose stat is st, when the cache file is of that very file.
bool cache_load(const std::string &file, const struct stat &st, std::vector<uint64_t> *out) {
        int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return false;
        FileFd f;
        CacheHeader h{}, want = header_for(st, {});
        struct stat cst {};
        bool ok = fstat(fd, &cst) == 0 && f.OpenDescriptor(fd, FileFd::ReadOnly, true) && f.Read(&h, sizeof h) &&
                  memcmp(h.magic, want.magic, sizeof h.magic) == 0 && h.ino == want.ino && h.size == want.size &&
                  h.mtime_sec == want.mtime_sec && h.mtime_nsec == want.mtime_nsec && h.count < (1U << 26) &&
                  static_cast<uint64_t>(cst.st_size) == sizeof h + h.count * sizeof(uint64_t);
        if (!f.IsOpen())
                close(fd);
        if (ok) { // (read into an array that is not zeroed first, then copied)
                std::unique_ptr<uint64_t[]> v(new uint64_t[h.count]);
                ok = f.Read(v.get(), h.count * sizeof(uint64_t));
                if (ok)
                        out->assign(v.get(), v.get() + h.count);
                ok = ok && sum_of(*out) == h.sum;
        }
        if (!ok)
                out->clear();
        _error->Discard(); // a cache that does not hold is made again, not an error
        return ok;
}

// Written beside and renamed into place; not synced (a cache: one that a power cut cut short fails
// cache_load()'s checks and is made again). Failures only cost the next process a scan.
void cache_store(const std::string &dir, const std::string &file, const struct stat &st, const std::vector<uint64_t> &v) {
        if (mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST)
                return;
        std::string tmp = file + ".XXXXXX"; // mkstemp(3)'s template: it puts 6 random characters there
        int fd = mkstemp(&tmp[0]);
        if (fd < 0)
                return;
        FileFd f;
        CacheHeader h = header_for(st, v);
        bool ok = fchmod(fd, 0644) == 0 && f.OpenDescriptor(fd, FileFd::WriteOnly, true) && f.Write(&h, sizeof h) &&
                  f.Write(v.data(), v.size() * sizeof(uint64_t));
        if (!f.IsOpen())
                close(fd);
        ok = f.Close() && ok;
        if (!ok || rename(tmp.c_str(), file.c_str()) < 0)
                (void) unlink(tmp.c_str());
        _error->Discard();
}

// The names of one index, from the cache when it holds them, else read (and cached).
bool index_names(const std::string &path, const std::string &cache_dir, std::vector<uint64_t> *out) {
        struct stat st {};
        if (stat(path.c_str(), &st) < 0)
                return false;
        std::string cached = cache_dir.empty() ? "" : cache_dir + "/" + flNotDir(path) + ".names";
        if (!cached.empty() && cache_load(cached, st, out))
                return true;
        if (!scan_index(path, out))
                return false;
        if (!cached.empty())
                cache_store(cache_dir, cached, st, *out);
        return true;
}

// A temporary file of cache_store() (NAME.names and the six characters mkstemp() chose) left by a
// process killed while writing it (a read ahead dies with gpubase: host/apt.h), once it is a minute
// old: no writer takes that long.
bool stale_temporary(int dir, const std::string &n) {
        static const std::string infix = ".names.";
        size_t dot = n.rfind(infix);
        struct stat st {};
        return dot != std::string::npos && n.size() == dot + infix.size() + 6 &&
               fstatat(dir, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
               st.st_mtime + 60 < time(nullptr);
}

// Cache files whose list is gone (a source removed, a suite renamed) are removed, and stale
// temporary files.
void cache_prune(const std::string &cache_dir, const std::string &lists_dir) {
        DIR *d = cache_dir.empty() ? nullptr : opendir(cache_dir.c_str());
        for (struct dirent *de; d && (de = readdir(d));) {
                std::string n = de->d_name;
                if (stale_temporary(dirfd(d), n)) {
                        (void) unlinkat(dirfd(d), de->d_name, 0);
                        continue;
                }
                if (n.size() <= 6 || n.compare(n.size() - 6, 6, ".names") != 0)
                        continue;
                if (!FileExists(lists_dir + n.substr(0, n.size() - 6)))
                        (void) unlinkat(dirfd(d), de->d_name, 0);
        }
        if (d)
                closedir(d);
}

// The files libapt reads for its sources, in its order (pkgSourceList::ReadMainList()).
std::vector<std::string> source_files() {
        std::vector<std::string> files;
        std::string main = _config->FindFile("Dir::Etc::sourcelist", "/dev/null");
        std::string parts = _config->FindDir("Dir::Etc::sourceparts", "/dev/null");
        if (RealFileExists(main))
                files.push_back(main);
        if (DirectoryExists(parts))
                for (auto &f : GetListOfFilesInDir(parts, std::vector<std::string>{"list", "sources"}, true))
                        files.push_back(f);
        return files;
}

// One sources file, parsed for its index targets only. For an entry without signed-by, libapt's
// parse loads the repository's Release file from the lists whole (an InRelease of a Debian suite:
// hundreds of lines, most of a scope's own time in a resume), only to carry over which key signed
// it; the targets do not depend on that. While the file is parsed, the lists directory is named as
// one that does not exist, so that no Release file is found; it is set back before the targets
// name their files on disk.
bool read_sources(pkgSourceList *list, const std::string &file) {
        std::string lists = _config->Find("Dir::State::lists");
        _config->Set("Dir::State::lists", _config->FindDir("Dir::State::lists") + "gpubase-no-such-directory/");
        bool ok = list->ReadAppend(file);
        _config->Set("Dir::State::lists", lists);
        return ok;
}

bool kept_installed(pkgDepCache *dc, pkgCache::DepIterator first, pkgCache::DepIterator last) {
        for (pkgCache::DepIterator a = first;; ++a) {
                std::unique_ptr<pkgCache::Version *[]> targets(a.AllTargets());
                for (pkgCache::Version **t = targets.get(); *t; ++t) {
                        pkgCache::VerIterator v(*a.Cache(), *t);
                        pkgCache::PkgIterator p = v.ParentPkg();
                        if (p.CurrentVer() == v && (*dc)[p].Keep())
                                return true;
                }
                if (a == last)
                        return false;
        }
}

} // namespace

using namespace aptshim;

extern "C" {

int apt_shim_names(AptShim *s, const char *cache_dir, char ***ret_files, AptNames **ret, char **reterr) {
        (void) s;
        std::vector<std::string> files = source_files();
        if (files.size() > 64)
                return fail(reterr, -E2BIG, "more than 64 sources files");
        std::string cache = cache_dir ? cache_dir : "";
        std::unique_ptr<AptNames> names(new AptNames());
        for (size_t i = 0; i < files.size(); i++) {
                pkgSourceList list;
                if (!read_sources(&list, files[i]))
                        return fail(reterr, -EINVAL, "cannot read " + files[i]);
                for (metaIndex *m : list)
                        for (IndexTarget const &t : m->GetIndexTargets()) {
                                if (t.Option(IndexTarget::CREATED_BY) != "Packages")
                                        continue;
                                std::string path = t.Option(IndexTarget::EXISTING_FILENAME);
                                if (path.empty())
                                        continue; // a list not on disk is not read by libapt either
                                names->indexes.emplace_back(uint64_t(1) << i, std::vector<uint64_t>());
                                if (!index_names(path, cache, &names->indexes.back().second))
                                        return fail(reterr, -EIO, "cannot read " + path);
                        }
        }
        cache_prune(cache, _config->FindDir("Dir::State::lists"));
        char **v = static_cast<char **>(calloc(files.size() + 1, sizeof(char *)));
        if (!v)
                abort();
        for (size_t i = 0; i < files.size(); i++)
                v[i] = dup(files[i]);
        _error->Discard(); // warnings of the sources' parse are the session's to give
        *ret_files = v;
        *ret = names.release();
        return 0;
}

uint64_t apt_names_files(const AptNames *n, const char *name) {
        uint64_t h = name_hash(name), bits = 0;
        for (auto &ix : n->indexes)
                if (std::binary_search(ix.second.begin(), ix.second.end(), h))
                        bits |= ix.first;
        return bits;
}

size_t apt_names_count(const AptNames *n, uint64_t files) {
        size_t count = 0;
        for (auto &ix : n->indexes)
                if (ix.first & files)
                        count += ix.second.size();
        return count;
}

void apt_names_free(AptNames *n) {
        delete n;
}

int apt_shim_scope_check(AptShim *s, const AptNames *n, uint64_t outside, char **ret_why) {
        if (!cache_ready(s))
                return fail(ret_why, -EIO, "cannot reopen the package cache");
        pkgDepCache *dc = s->cache->GetDepCache();
        pkgCache &c = *s->cache->GetPkgCache();
        // what MarkInstall installs besides Depends, as the root's apt.conf says (apt's defaults)
        bool recommends = _config->FindB("APT::Install-Recommends", true);
        bool suggests = _config->FindB("APT::Install-Suggests", false);
        auto elsewhere = [&](const char *name) { return (apt_names_files(n, name) & outside) != 0; };
        for (pkgCache::PkgIterator p = c.PkgBegin(); !p.end(); ++p) {
                pkgDepCache::StateCache &st = (*dc)[p];
                if (st.Delete()) {
                        *ret_why = dup(std::string("it would remove ") + p.FullName(true));
                        return 0;
                }
                if (!st.Install())
                        continue;
                if (elsewhere(p.Name())) {
                        *ret_why = dup(std::string(p.Name()) + " is offered by other sources too");
                        return 0;
                }
                pkgCache::VerIterator v = st.InstVerIter(c);
                for (pkgCache::DepIterator d = v.DependsList(); !d.end();) {
                        pkgCache::DepIterator first, last;
                        d.GlobOr(first, last); // moves d past the or-group
                        bool counts = first->Type == pkgCache::Dep::Depends || first->Type == pkgCache::Dep::PreDepends ||
                                      (recommends && first->Type == pkgCache::Dep::Recommends) ||
                                      (suggests && first->Type == pkgCache::Dep::Suggests);
                        if (!counts || kept_installed(dc, first, last))
                                continue;
                        for (pkgCache::DepIterator a = first;; ++a) {
                                if (elsewhere(a.TargetPkg().Name())) {
                                        *ret_why = dup(std::string(p.Name()) + " " + a.DepType() + " " +
                                                       a.TargetPkg().Name() + ", which other sources offer");
                                        return 0;
                                }
                                if (a == last)
                                        break;
                        }
                }
        }
        return 1;
}

} // extern "C"
