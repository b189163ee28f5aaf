/* apt-install's parameters and what its two files share: apt_install.c (the kind: parameters,
 * probe, apply) and apt_install_resolve.c (resolving without installing: the --dry-run preview and
 * bundle create). */
#pragma once

#include "host/apt.h"
#include "steps/apt_output.h"
#include "steps/steps.h"

typedef struct AptInstallParams {
        AptPkgSpec *pkgs;
        size_t n_pkgs;
        bool hold, unhold;
        bool hold_kernel; /* hold the kernel metapackages (apt_install_kernel.c) */
        char *pin;
        char *origin;
        char **prefetch;
        unsigned lock_timeout;
        char *update; /* auto, always, never */
        char *version_of; /* `version_of: PKG`: unversioned packages at PKG's upstream version */
} AptInstallParams;

/* The packages to resolve: a->pkgs itself, or with `version_of: PKG` a copy in which every package
 * listed without a version gets "<PKG's upstream version>-*" (PKG installed, else the version apt
 * picks for it): Fabric Manager at exactly the driver's version, whatever the Debian revision.
 * Free the copy with apt_install_specs_free(a, specs). -errno with *reterr when PKG has no version. */
int apt_install_specs(AptSession *as, const AptInstallParams *a, AptPkgSpec **ret, char **reterr);
void apt_install_specs_free(const AptInstallParams *a, AptPkgSpec *specs);

/* The step's packages (a pinning package first) picked, resolved and installed, over the sources
 * that offer them where that result stands for every source, else over all (apt_install_set.c).
 * After a success the session may still read only those sources: every file that offers one of
 * the step's packages (enough to say where their versions come from); apt_session_unscope() before
 * reading anything else. *ret_changed counts the packages changed; *updated: the lists were
 * refreshed (set when this refreshes them). -errno with *reterr. */
int apt_install_set(AptSession *as, const Step *s, Ctx *ctx, bool *updated, unsigned *ret_changed, char **reterr);
/* `prefetch:`: the archives of step t's packages downloaded, over the sources that offer them the
 * same way, unless libapt's state over every source is built already (the kernels' headers read
 * it). The session reads every source again after. -errno with *reterr; *picked: the versions were
 * found (else the repository is missing). */
int apt_install_prefetch(AptSession *as, const Step *t, Ctx *ctx, bool *picked, char **reterr);

/* The pinning package a->pkgs[0] at version pv[0], installed before the rest and the session
 * reopened over its preferences (apt_install_pinning.c). *ret_changed: packages changed. */
int apt_install_pinning(AptSession *as, const AptInstallParams *a, char **pv, unsigned *ret_changed, char **reterr);

/* /etc/apt/preferences.d/gpubase-ID and its content (`pin:`). */
char *apt_install_pin_path(const Step *s);
char *apt_install_pin_content(const Step *s);
/* Every spec resolved to one version (glob: the highest match; from origin when given), or -errno
 * with *reterr. */
int apt_install_pick(AptSession *as, const AptPkgSpec *pkgs, size_t n, const char *origin, char ***ret_versions,
                     char **reterr);
/* After the picks: the globbed packages (pinning packages aside) at one upstream version, the highest
 * all of them offer, when their picks differ (apt_install_align.c). -ENOENT with *reterr when none. */
int apt_install_align(AptSession *as, const AptPkgSpec *pkgs, size_t n, const char *origin, char **versions,
                      char **reterr);

/* The kernels (apt_install_kernel.c), for a step that brings the nvidia module: the probe says
 * PROBE_NEEDED (with *ret_detail) when the kernel the next boot starts lacks the module or a kernel
 * metapackage is not held (hold_kernel); apply holds them, installs the missing headers (a header
 * package apt does not know refreshes the lists once, as `update:` allows; *updated: the step's
 * lists were refreshed already, set when this refreshes them) and fails (-ENOPKG with *reterr)
 * when the next kernel still lacks the module. */
int apt_install_kernel_probe(const Step *s, Ctx *ctx, char **ret_detail);
int apt_install_kernel_apply(const Step *s, Ctx *ctx, AptSession *as, bool *updated, unsigned *ret_changed,
                             char **reterr);

/* StepKind.preview and StepKind.bundle of apt-install (apt_install_resolve.c). */
int apt_install_preview(const Step *s, Ctx *ctx, char **ret_detail, char **reterr);
int apt_install_bundle(const Step *s, Ctx *ctx, BundleBuilder *b, char **ret_detail, char **reterr);
