/* Digests as lowercase hex: SHA-256 (plans, bundles, checkpoints) and MD5 (dpkg's md5sums).
 * Files are read in blocks, never whole. Base layer: knows nothing of gpubase. */
#pragma once

#include <stddef.h>

/* n bytes -> 2n lowercase hex digits and a NUL in ret. */
void hex_encode(const unsigned char *data, size_t n, char *ret);

/* In memory, gpubase's own code (no libcrypto to load for a few KB): SHA-256, SHA-1 (OpenPGP v4
 * fingerprints only) and MD5 (dpkg's md5sums). */
void sha256_hex(const void *data, size_t len, char ret[65]);
void sha256_digest(const void *data, size_t len, unsigned char md[32]);
void sha1_digest(const void *data, size_t len, unsigned char md[20]);
void md5_hex(const void *data, size_t len, char ret[33]);
/* Of a file's content; a negative errno when it cannot be read. */
int sha256_file_hex(const char *path, char ret[65]);
int md5_file_hex(const char *path, char ret[33]);

/* Streaming SHA-256: sha256_init(), sha256_update() as the data comes, sha256_final_hex() (which
 * frees the context; sha256_done() frees one dropped half-way, and does nothing after final).
 * OpenSSL refusing a digest aborts: that cannot happen on a working system. */
typedef struct Sha256 {
        void *ctx; /* EVP_MD_CTX */
} Sha256;
void sha256_init(Sha256 *s);
void sha256_update(Sha256 *s, const void *data, size_t len);
void sha256_final_hex(Sha256 *s, char ret[65]);
void sha256_done(Sha256 *s);
