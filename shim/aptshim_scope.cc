// Scoped resolution (agent/steps/apt_install_scope.c): which package names each sources file's
// indexes offer, and whether a resolution made over some of the files stands for all of them.
//
// The names are read from the lists on disk in one pass (libapt's FileFd undoes their compression)
// instead of through libapt's cache: building that cache is what a scoped session saves (63,000
// packages on a Debian host, most of an install's own time), and only the names are needed here.
// Written by hand because libapt has no reader cheaper than its cache for this; it is a scan of two
// fields, Package and Provides, whose syntax is Debian policy's (§5.6.1, §7.5).

#include "aptshim_internal.h"

#include <apt-pkg/configuration.h>
#include <apt-pkg/depcache.h>
#include <apt-pkg/fileutl.h>
#include <apt-pkg/indexfile.h>
#include <apt-pkg/metaindex.h>
#include <apt-pkg/sourcelist.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string_view>
#include <utility>
#include <vector>

// a name's hash -> the files (bit i: file i) offering it, in one flat table (open addressing: a
// Debian host's lists hold 70,000 names, and a node per name made freeing the table cost as much as
// filling it). Two names of one hash only make a file look like it offers both: the check then
// leaves the scope, never wrongly stays in it.
struct AptNames {
        std::vector<std::pair<uint64_t, uint64_t>> slots = std::vector<std::pair<uint64_t, uint64_t>>(1 << 18);
        size_t used = 0;
        std::pair<uint64_t, uint64_t> &slot(uint64_t h) {
                size_t mask = slots.size() - 1;
                for (size_t i = h & mask;; i = (i + 1) & mask)
                        if (slots[i].first == h || slots[i].first == 0)
                                return slots[i];
        }
        void add(uint64_t h, uint64_t bit) {
                if (2 * (used + 1) > slots.size()) {
                        std::vector<std::pair<uint64_t, uint64_t>> old(slots.size() * 2);
                        old.swap(slots);
                        used = 0;
                        for (auto &e : old)
                                if (e.first)
                                        add(e.first, e.second);
                }
                auto &e = slot(h);
                used += e.first == 0;
                e.first = h;
                e.second |= bit;
        }
        uint64_t find(uint64_t h) const {
                size_t mask = slots.size() - 1;
                for (size_t i = h & mask;; i = (i + 1) & mask)
                        if (slots[i].first == h || slots[i].first == 0)
                                return slots[i].second;
        }
};

namespace {

uint64_t name_hash(std::string_view n) {
        uint64_t h = std::hash<std::string_view>{}(n);
        return h ? h : 1; // 0 marks a free slot
}

bool field_is(std::string_view line, std::string_view name) {
        return line.size() > name.size() && line[name.size()] == ':' &&
               strncasecmp(line.data(), name.data(), name.size()) == 0;
}

// "a (>= 1), b:any, c" -> a, b, c
void add_list(AptNames *n, std::string_view v, uint64_t bit) {
        while (!v.empty()) {
                size_t comma = v.find(',');
                std::string_view item = v.substr(0, comma);
                size_t b = item.find_first_not_of(" \t");
                if (b != std::string_view::npos) {
                        item.remove_prefix(b);
                        size_t e = item.find_first_of(" \t(:");
                        item = item.substr(0, e);
                        if (!item.empty())
                                n->add(name_hash(item), bit);
                }
                if (comma == std::string_view::npos)
                        break;
                v.remove_prefix(comma + 1);
        }
}

// The lines of one index: Package's value, Provides' (and its continuation lines).
struct Scanner {
        AptNames *names;
        uint64_t bit;
        bool in_provides = false;
        void line(std::string_view l) {
                if (!l.empty() && (l[0] == ' ' || l[0] == '\t')) {
                        if (in_provides)
                                add_list(names, l, bit);
                        return;
                }
                in_provides = false;
                if (l.empty() || (l[0] != 'P' && l[0] != 'p'))
                        return;
                if (field_is(l, "Package"))
                        add_list(names, l.substr(8), bit);
                else if (field_is(l, "Provides")) {
                        add_list(names, l.substr(9), bit);
                        in_provides = true;
                }
        }
};

bool scan_index(const std::string &path, AptNames *names, uint64_t bit) {
        FileFd f;
        if (!f.Open(path, FileFd::ReadOnly, FileFd::Extension))
                return false;
        Scanner sc{names, bit};
        std::string carry;
        std::vector<char> buf(1 << 20);
        for (;;) {
                unsigned long long got = 0;
                if (!f.Read(buf.data(), buf.size(), &got))
                        return false;
                if (got == 0)
                        break;
                std::string_view chunk(buf.data(), got);
                size_t nl = chunk.find('\n');
                if (nl == std::string_view::npos) {
                        carry.append(chunk);
                        continue;
                }
                carry.append(chunk.substr(0, nl));
                sc.line(carry);
                carry.clear();
                chunk.remove_prefix(nl + 1);
                for (size_t e; (e = chunk.find('\n')) != std::string_view::npos; chunk.remove_prefix(e + 1))
                        sc.line(chunk.substr(0, e));
                carry.assign(chunk);
        }
        if (!carry.empty())
                sc.line(carry);
        return true;
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

int apt_shim_names(AptShim *s, char ***ret_files, AptNames **ret, char **reterr) {
        (void) s;
        std::vector<std::string> files = source_files();
        if (files.size() > 64)
                return fail(reterr, -E2BIG, "more than 64 sources files");
        std::unique_ptr<AptNames> names(new AptNames());
        for (size_t i = 0; i < files.size(); i++) {
                pkgSourceList list;
                if (!list.ReadAppend(files[i]))
                        return fail(reterr, -EINVAL, "cannot read " + files[i]);
                for (metaIndex *m : list)
                        for (IndexTarget const &t : m->GetIndexTargets()) {
                                if (t.Option(IndexTarget::CREATED_BY) != "Packages")
                                        continue;
                                std::string path = t.Option(IndexTarget::EXISTING_FILENAME);
                                // a list not on disk is not read by libapt either
                                if (!path.empty() && !scan_index(path, names.get(), uint64_t(1) << i))
                                        return fail(reterr, -EIO, "cannot read " + path);
                        }
        }
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
        return n->find(name_hash(name));
}

void apt_names_free(AptNames *n) {
        delete n;
}

int apt_shim_scope_check(AptShim *s, const AptNames *n, uint64_t outside, char **ret_why) {
        if (!cache_ready(s))
                return fail(ret_why, -EIO, "cannot reopen the package cache");
        pkgDepCache *dc = s->cache->GetDepCache();
        pkgCache &c = *s->cache->GetPkgCache();
        bool recommends = _config->FindB("APT::Install-Recommends", true);
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
                                      (recommends && first->Type == pkgCache::Dep::Recommends);
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
