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

/* /etc/apt/preferences.d/gpubase-ID and its content (`pin:`). */
char *apt_install_pin_path(const Step *s);
char *apt_install_pin_content(const Step *s);
/* Every spec resolved to one version (glob: the highest match; from origin when given), or -errno
 * with *reterr. */
int apt_install_pick(AptSession *as, const AptPkgSpec *pkgs, size_t n, const char *origin, char ***ret_versions,
                     char **reterr);

/* StepKind.preview and StepKind.bundle of apt-install (apt_install_resolve.c). */
int apt_install_preview(const Step *s, Ctx *ctx, char **ret_detail, char **reterr);
int apt_install_bundle(const Step *s, Ctx *ctx, BundleBuilder *b, char **ret_detail, char **reterr);
