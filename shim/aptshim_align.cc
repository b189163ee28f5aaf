// The candidates a requested version needs (aptshim.cc's marks call align_exact_deps()): libapt's
// MarkInstall looks only at each package's candidate, so the versions a request depends on exactly,
// or by a name only they provide, are made candidates first.

#include "aptshim_internal.h"

#include <apt-pkg/debversion.h>
#include <apt-pkg/depcache.h>

#include <memory>

namespace aptshim {

// Is dependency d met by a version apt would install now: a target (the package itself, or a
// provider through Provides) that is its package's candidate?
static bool met_by_candidates(pkgDepCache *dc, pkgCache::DepIterator d) {
        std::unique_ptr<pkgCache::Version *[]> targets(d.AllTargets());
        for (pkgCache::Version **t = targets.get(); *t; ++t) {
                pkgCache::VerIterator tv(*d.Cache(), *t);
                pkgCache::VerIterator cand = dc->GetCandidateVersion(tv.ParentPkg());
                if (!cand.end() && cand == tv)
                        return true;
        }
        return false;
}

// Make the highest downloadable version that meets d the candidate of its package, then align that
// version's own dependencies.
static void align_to(pkgDepCache *dc, pkgCache::DepIterator d, int depth) {
        if (met_by_candidates(dc, d))
                return;
        std::unique_ptr<pkgCache::Version *[]> targets(d.AllTargets());
        pkgCache::VerIterator best;
        for (pkgCache::Version **t = targets.get(); *t; ++t) {
                pkgCache::VerIterator tv(*d.Cache(), *t);
                if (tv.Downloadable() && (best.end() || debVS.CmpVersion(tv.VerStr(), best.VerStr()) > 0))
                        best = tv;
        }
        if (best.end())
                return;
        dc->SetCandidateVersion(best);
        align_exact_deps(dc, best, depth + 1);
}

// A requested version that depends on exact versions of its companions (nvidia-open (= v) needs
// nvidia-kernel-open-dkms (= v)): make those the candidates too, or MarkInstall cannot satisfy them
// when another version of a companion is installed or preferred. The same for a lone dependency on a
// name that only an older version provides: Debian's nvidia-open-kernel-support 535.261.03-1 needs
// nvidia-alternative-535.261.03, which only nvidia-alternative 535.261.03-1 provides, while
// bookworm-security offers nvidia-alternative 535.309.01 (MarkInstall never looks past candidates).
void align_exact_deps(pkgDepCache *dc, pkgCache::VerIterator ver, int depth) {
        if (depth > 4)
                return;
        for (pkgCache::DepIterator d = ver.DependsList(); !d.end();) {
                pkgCache::DepIterator first, last;
                d.GlobOr(first, last); // moves d past the or-group
                if (first->Type != pkgCache::Dep::Depends && first->Type != pkgCache::Dep::PreDepends)
                        continue;
                for (pkgCache::DepIterator m = first;; ++m) {
                        if ((m->CompareOp & ~pkgCache::Dep::Or) == pkgCache::Dep::Equals)
                                align_to(dc, m, depth);
                        if (m == last)
                                break;
                }
                if (first == last && (first->CompareOp & ~pkgCache::Dep::Or) != pkgCache::Dep::Equals)
                        align_to(dc, first, depth);
        }
}

} // namespace aptshim
