/* dpkg's own database, read without running dpkg or opening libapt: <root>/var/lib/dpkg/status
 * (parsed once per process, and again only when dpkg replaced the file) and the architectures
 * dpkg is configured for (<root>/var/lib/dpkg/arch). What apt-install probes and the checks ask
 * ("is nvidia-open 595.45.01-1 installed and held?") needs nothing more, and a rerun that changes
 * nothing then costs one read of the status file. Functions return 0 or -errno (base/error.h). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "host/host.h"

#define DPKG_STATUS "/var/lib/dpkg/status"
#define DPKG_ARCH_FILE "/var/lib/dpkg/arch"

/* One package's stanza. The strings are the fields' values ("" when the field is missing); want,
 * flag and state are the three words of Status ("hold ok installed"). All six are one allocation,
 * owned by the DpkgStatus (dpkg_status_done()). */
typedef struct DpkgStanza {
        char *name, *arch, *version;
        char *want, *flag, *state;
        const char *text; /* the stanza in DpkgStatus.text (for other fields) */
        size_t len;
} DpkgStanza;

typedef struct DpkgStatus {
        char *text;        /* the whole file, NUL-terminated */
        DpkgStanza *pkgs;  /* sorted by name; among equal names, in file order */
        size_t n;
} DpkgStatus;

/* Parses status text (takes it over). Stanzas without a Package field are left out. */
void dpkg_status_parse(char *text, DpkgStatus *ret);
void dpkg_status_done(DpkgStatus *s);

/* h's dpkg status, parsed once per process: later calls only stat the file, and parse it again
 * when it changed (dpkg replaces it by a rename, so another inode; or another size or mtime). A
 * missing file reads as empty: nothing is installed. The result stays valid until the next call.
 * -errno when the file cannot be read. */
int dpkg_status_get(const Host *h, const DpkgStatus **ret);

/* The stanza of name, as apt's FindPkg() sees it: "name:arch" that architecture, plain "name" the
 * native architecture (or arch "all"). NULL when dpkg has none. */
const DpkgStanza *dpkg_status_lookup(const DpkgStatus *s, const char *name);

/* dpkg knows a version of it on disk: unpacked or further, not config-files or not-installed
 * (what libapt calls a current version). */
bool dpkg_stanza_present(const DpkgStanza *p);
/* State "installed": configured, not half-configured or unpacked. */
bool dpkg_stanza_installed(const DpkgStanza *p);
/* Selection "hold". */
bool dpkg_stanza_held(const DpkgStanza *p);
/* Is a package of h's status (dpkg_status_get()) in one of states (NULL-terminated), or, with
 * reinstreq, flagged as needing a reinstall? false when the status cannot be read. */
bool dpkg_any_in_state(const Host *h, const char *const *states, bool reinstreq);

/* dpkg's native architecture: the one gpubase (like dpkg and libapt on the same system) was built
 * for, "amd64", "arm64". */
const char *dpkg_native_arch(void);
/* The architectures dpkg is configured for, native first, then the foreign ones of the root's
 * /var/lib/dpkg/arch (what `dpkg --print-foreign-architectures` prints, without running dpkg). */
int dpkg_architectures(const Host *h, char ***ret);
