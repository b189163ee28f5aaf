/* Trust in a repository keyring package without a pasted checksum (apt-keyring-deb with a pinned
 * fingerprint and no sha256). The chain, each link checked before dpkg sees the package:
 *   1. the keyring inside the .deb holds the pinned key (checked by the step, before this);
 *   2. that key, and no other, verifies the InRelease of the repository the package's own apt
 *      source names (e.g. NVIDIA's cuda-<distro>-<arch>.list);
 *   3. the Packages index that InRelease lists (its hash checked) gives the package's SHA256;
 *   4. that SHA256 is the downloaded file's.
 * A swapped .deb breaks 4, a repository signed by another key breaks 2. */
#pragma once

#include <stdbool.h>

#include "host/debfile.h"
#include "host/host.h"

/* Where the repository's signed indexes come from and go to (both optional).
 *   save:  a directory that receives, once every link held, what the repository gave: its InRelease
 *          and Packages indexes (apt_shim_save_signed_indexes()), for an offline bundle.
 *   saved: such a directory (from an offline bundle): the chain is checked against it instead of
 *          the network, link for link, and each repository saved there must be one the package's
 *          own sources name. */
typedef struct KeyringChainIndexes {
        const char *save, *saved;
} KeyringChainIndexes;

/* 0: every link holds (*ret_detail says which repository vouched); -EPERM: a link is broken,
 * *reterr names it; other < 0: the repository could not be read (network, disk), *reterr says why.
 * Writes nothing under h's root: the repository's lists go to a temporary directory. */
int keyring_chain_verify(const Host *h, const char *deb, const DebInfo *info, const char *file, const char *fingerprint,
                         const KeyringChainIndexes *idx, int verbose, char **ret_detail, char **reterr);
/* (verbose: Ctx.verbose, or -1 for -q: no progress at all) */

/* The repositories an apt source file names, one "URI SUITE [COMPONENT...]" line each: the
 * one-line format (.list) or deb822 (.sources). Only "deb" entries count; options such as
 * signed-by or trusted=yes are dropped (what vouches for the repository is decided here, never by
 * the package), and so are deb822 stanzas with "Enabled: no". */
char *keyring_chain_repositories(const char *text, bool deb822);
