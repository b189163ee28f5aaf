/* Offline bundles: everything a plan downloads, in one tarball, for hosts with no network.
 *
 *   manifest.json          first entry: the plan it was made for (name, sha256 with its --var values),
 *                          and every other file with its sha256, size and where it came from
 *   plan.yaml              the plan as written
 *   keyrings/FILE.deb      apt-keyring-deb packages (still checked against the plan's sha256 and key)
 *   keyrings/FILE.deb.chain/N/
 *                          without a pinned sha256: the signed InRelease and Packages indexes of the
 *                          package's repository N, at their paths under its URI, and `repository`
 *                          (its URI, suite, components): the offline run checks the chain again
 *                          (steps/keyring_chain.h)
 *   keys/STEP.key          apt-source keys (still checked against the plan's fingerprint)
 *   repo/SITE/             one flat apt repository per repository the packages came from: the .debs
 *                          at the versions the plan resolved to (dependencies included), Packages
 *                          (their original index stanzas) and Release (the original Origin, Label,
 *                          Suite, Codename, so that `origin:` checks still hold)
 *
 * A bundle is extracted to /var/lib/gpubase/bundle only after its manifest accounts for every entry
 * with the right sha256 (tar_scan() refuses absolute paths, "..", links and special files); then,
 * and only then, its repositories are given to apt as [trusted=yes] file: sources, in place of the
 * machine's own sources, for that run. Functions return 0 or -errno and write *reterr only on
 * failure, ret_ outputs only on success (base/error.h). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "shim/aptshim.h"
#include "host/host.h"

#define BUNDLE_FORMAT 1
#define BUNDLE_MANIFEST "manifest.json"
#define BUNDLE_PLAN "plan.yaml"
/* manifest.json is read into memory: at most this many bytes */
#define BUNDLE_MANIFEST_MAX (16U * 1024 * 1024)
#define GPUBASE_BUNDLE_DIR GPUBASE_STATE_DIR "/bundle"
/* content of one bundle, in all: the largest real plans need a few GiB */
#define BUNDLE_MAX_BYTES (64ULL * 1024 * 1024 * 1024)

typedef struct BundleFile {
        char *path, *sha256, *kind; /* kind: plan, keyring-deb, keyring-chain, key, deb, index */
        char *step, *package, *version, *arch, *from;
        uint64_t size;
} BundleFile;

typedef struct BundleManifest {
        unsigned format;
        char *created, *gpubase_version, *os, *arch;
        char *plan_name, *plan_sha256, *plan_source;
        char **vars;
        BundleFile *files;
        size_t n_files;
        size_t *by_path;   /* set by bundle_manifest_parse(): indices of files by path, for lookups */
        uint64_t total;    /* set by bundle_manifest_parse(): the sum of the files' sizes */
        char sha256[65]; /* of manifest.json itself */
} BundleManifest;

BundleManifest *bundle_manifest_free(BundleManifest *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(BundleManifest *, bundle_manifest_free)
/* -EBADMSG with *reterr naming what is wrong in manifest.json. */
int bundle_manifest_parse(const char *text, size_t len, BundleManifest **ret, char **reterr);
const BundleFile *bundle_manifest_find(const BundleManifest *m, const char *path);
char *bundle_manifest_to_json(const BundleManifest *m);

/* Reads a bundle and checks every entry against its manifest (the first entry, read and checked
 * before anything else is read). With dest it is extracted there: into a temp directory beside it
 * (the ones a killed run left there are removed first), renamed into place only when everything
 * checked out. Before a byte is written the manifest's sizes must fit the free space there, and
 * each entry must be one the manifest lists, at its size. On failure *reterr names the entry and
 * why, and nothing is left behind. */
int bundle_open(const char *file, const char *dest, BundleManifest **ret, char **reterr);
/* Checks an extracted bundle against its manifest again (a resumed run); *reterr on failure. */
int bundle_verify_dir(const char *dir, BundleManifest **ret, char **reterr);
/* apt sources for an extracted bundle: "deb [trusted=yes] file:DIR/repo/SITE/ ./", one per line. */
char *bundle_sources_list(const char *dir);
/* A finished run no longer needs the packages: keep manifest.json and plan.yaml only. */
void bundle_prune(const char *dir);

/* Writes the regular files of a .deb (whose paths were checked by the caller) under h's root, the
 * way dpkg would unpack them, without dpkg and without running any maintainer script. *reterr on failure. */
int deb_unpack_files(const Host *h, const char *deb, char **reterr);

/* ---- making a bundle ---- */

typedef struct BundleBuilder BundleBuilder;

/* A builder for a plan on the machine src (its dpkg status and apt configuration are the baseline
 * the packages are resolved against). It works in a scratch root: a copy of src's apt
 * configuration, keyrings and dpkg status, into which the plan's keyrings, sources and pins are put
 * as the steps would put them, so that later steps resolve as they will on the target. *reterr on failure, as in every
 * bundle_builder_*() that has one. */
int bundle_builder_new(const Host *src, BundleBuilder **ret, char **reterr);
BundleBuilder *bundle_builder_free(BundleBuilder *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(BundleBuilder *, bundle_builder_free)
const Host *bundle_builder_scratch(const BundleBuilder *b);
const Host *bundle_builder_source(const BundleBuilder *b);
/* A file (keyring package, key) copied into the bundle as name. */
int bundle_builder_add_file(BundleBuilder *b, const char *name, const char *src_path, const char *kind,
                            const char *step, const char *package, const char *version, char **reterr);
/* A package apt fetched: into repo/SITE/ with its index stanza. 1: it was there already. */
int bundle_builder_add_archive(BundleBuilder *b, const AptArchive *a, const char *step, char **reterr);
/* The plan a bundle is made for, as the manifest names it (host/ does not know the Plan type). */
typedef struct BundlePlanRef {
        const char *path, *name, *sha256;
        char *const *vars;  /* the --var NAME=VALUE it was loaded with, or NULL */
        size_t max_size;    /* the plan file is read with this bound */
} BundlePlanRef;

/* Writes the bundle: repository indexes, manifest (first), plan, files. */
int bundle_builder_write(BundleBuilder *b, const BundlePlanRef *p, const char *out, BundleManifest **ret,
                         char **reterr);
