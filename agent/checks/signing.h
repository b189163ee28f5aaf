/* Secure Boot and the nvidia kernel module: with Secure Boot on, the kernel loads only modules
 * signed by a key the firmware or shim trusts. A plan that installs the module must therefore have
 * a signing route, decided before anything runs (a module that will not load is otherwise found
 * only after the reboot):
 *   dkms-mok        DKMS signs the module it builds with its MOK key, which is enrolled before the
 *                   run (/var/lib/dkms/mok.pub; Ubuntu 22.04's DKMS: /var/lib/shim-signed/mok/MOK.der)
 *   signed-modules  the plan installs modules the distribution built and signed (Ubuntu's
 *                   linux-modules-nvidia-<branch>-server-open-<kernel flavour>), trusted through shim
 * A plan declares its route as the `secureboot` check's parameter ({secureboot: dkms-mok});
 * installing a linux-modules-nvidia-* package declares signed-modules by itself. */
#pragma once

#include "plan/plan.h"
#include "host/host.h"

typedef enum SigningRoute {
        SIGNING_NONE,
        SIGNING_DKMS_MOK,
        SIGNING_SIGNED_MODULES,
        _SIGNING_ROUTE_MAX,
        _SIGNING_ROUTE_INVALID = -EINVAL,
} SigningRoute;

const char *signing_route_to_string(SigningRoute r);
SigningRoute signing_route_from_string(const char *s);

typedef enum ModuleSource {
        MODULE_SOURCE_NONE,   /* the package brings no nvidia kernel module */
        MODULE_SOURCE_DKMS,   /* built on the host by DKMS: signed only with the host's own key */
        MODULE_SOURCE_SIGNED, /* prebuilt and signed by the distribution */
} ModuleSource;

/* What installing this package means for the nvidia kernel module, by its name. */
ModuleSource module_source_of_package(const char *name);

/* The certificates DKMS signs with, in the order DKMS versions use them (NULL-terminated). */
extern const char *const dkms_mok_certs[];

/* Is one of dkms_mok_certs enrolled (in shim's MokListRT or the firmware's db)? 1 with
 * *ret_cert, 0 with *ret_why (none exists, or which one is not enrolled). */
int dkms_key_enrolled(const Host *h, char **ret_cert, char **ret_why);

/* The route in force: the declared one, else signed-modules when the plan installs such modules. */
SigningRoute plan_signing_route(const PlanIntent *in);

/* Why this plan must be refused on this host for Secure Boot (with what to do), or NULL. */
char *secureboot_refusal(const PlanIntent *in, const Host *h);

/* The two routes, as advice (static text). */
#define SIGNING_ROUTES_ADVICE                                                                              \
        "either enrol the DKMS signing key before the run (mokutil --import /var/lib/dkms/mok.pub; on "     \
        "Ubuntu 22.04 /var/lib/shim-signed/mok/MOK.der; reboot and confirm it in MokManager) and declare "  \
        "it with {secureboot: dkms-mok} (shipped plans: --var signing_route=dkms-mok); or install Ubuntu's " \
        "signed linux-modules-nvidia-<branch>-server-open-<kernel flavour> packages, which load without "   \
        "enrolment"
