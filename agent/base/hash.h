/* Layer: base. Digests as hex text (SHA-256, MD5, SHA-1 through OpenSSL's EVP), in one call or
 * streamed. Memory exhaustion and a digest OpenSSL refuses abort: neither can happen on a working
 * system, and a caller could do nothing useful with either. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define SHA256_HEX_SIZE 65 /* 64 hex digits and the NUL */
#define MD5_HEX_SIZE 33

/* len bytes as 2*len hex digits (lowercase, or uppercase with upper) and a NUL in ret. */
void hex_encode(const void *data, size_t len, bool upper, char *ret);

void sha256_hex(const void *data, size_t len, char ret[SHA256_HEX_SIZE]);
void md5_hex(const void *data, size_t len, char ret[MD5_HEX_SIZE]);
/* sha256 of a file's content. -errno when it cannot be read. */
int sha256_file_hex(const char *path, char ret[SHA256_HEX_SIZE]);

/* Streaming: sha256_init(), sha256_update() as the data comes, sha256_final_hex() (which frees
 * the context; sha256_done() frees one that is dropped half-way, and does nothing after final). */
typedef struct Sha256 {
        void *ctx; /* EVP_MD_CTX */
} Sha256;
void sha256_init(Sha256 *s);
void sha256_update(Sha256 *s, const void *data, size_t len);
void sha256_final_hex(Sha256 *s, char ret[SHA256_HEX_SIZE]);
void sha256_done(Sha256 *s);
