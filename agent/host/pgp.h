/* OpenPGP public keys without gpg: enough to tell which keys a keyring holds, and to write it in
 * the binary form apt's Signed-By wants. Nothing here verifies a signature: the point is to pin a
 * repository key by fingerprint before apt is ever told to trust it.
 *
 * A keyring is either binary (a sequence of OpenPGP packets, old- or new-format headers, any length
 * encoding) or ASCII-armored ("-----BEGIN PGP PUBLIC KEY BLOCK-----", optional "Key: value" header
 * lines, a blank line, base64, an optional "=XXXX" CRC-24 line that is checked when present, the END
 * line); several armor blocks may follow each other and text outside them is ignored. Fingerprints
 * are uppercase hex: SHA-1 (40 digits) for version 4 keys, SHA-256 (64 digits) for version 5 and 6
 * keys; version 2/3 keys are skipped. Malformed input (truncated packet, bad base64 or CRC, no public
 * key at all, secret key material, a GnuPG keybox file) is -EBADMSG with a message in *reterr;
 * input larger than PGP_KEYRING_MAX is -EFBIG. reterr may be NULL and is written only on failure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

/* Largest keyring any of these functions accepts. */
#define PGP_KEYRING_MAX (4U * 1024U * 1024U)

/* Whether data looks like text (armor) rather than binary packets. */
bool pgp_is_armored(const void *data, size_t len);

/* The binary keyring: armored input is decoded (CRC checked), binary input copied; either way the
 * result has been parsed and holds at least one public key. */
int pgp_dearmor(const void *data, size_t len, void **ret, size_t *ret_len, char **reterr);

/* Fingerprints of the primary keys (tag 6) and, separately, of the subkeys (tag 14), in keyring
 * order without duplicates. Either return pointer may be NULL; the lists are never NULL. */
int pgp_keyring_fingerprints(const void *data, size_t len, char ***ret_primary, char ***ret_subkeys,
                             char **reterr);

/* 1 if a primary key of the keyring has that fingerprint (given as pgp_fingerprint_normalize()
 * accepts it), 0 if not, -EINVAL for a malformed fingerprint, -EBADMSG for a malformed keyring.
 * Subkey fingerprints do not count: a pin names the key that certifies the others. */
int pgp_keyring_has_fingerprint(const void *data, size_t len, const char *fingerprint);
/* Same, for a keyring file: true only when it can be read and carries the key. */
bool pgp_keyring_file_has(const char *path, const char *fingerprint);

/* The packets of one key alone (the primary key with that fingerprint, its user IDs, signatures and
 * subkeys, up to the next primary key), as a binary keyring: handed to apt to verify a repository,
 * so that no other key a keyring happens to carry can vouch for it. -ENOENT when no primary key
 * has that fingerprint; *reterr (written only on failure) says why. */
int pgp_keyring_extract(const void *data, size_t len, const char *fingerprint, void **ret, size_t *ret_len,
                        char **reterr);

/* A fingerprint as users write it ("eb69 3b30 35cd ..."): spaces and tabs are dropped, the rest
 * must be 40 (v4) or 64 (v5/v6) hex digits; returns them uppercase, else -EINVAL. */
int pgp_fingerprint_normalize(const char *s, char **ret);
