#include "base/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/crypto_load.h"
#include "base/util.h"

void hex_encode(const unsigned char *data, size_t n, char *ret) {
        static const char digits[] = "0123456789abcdef";
        for (size_t i = 0; i < n; i++) {
                ret[2 * i] = digits[data[i] >> 4];
                ret[2 * i + 1] = digits[data[i] & 0xf];
        }
        ret[2 * n] = 0;
}

/* SHA-256 of a buffer in memory, written here from FIPS 180-4 (section 6.2) rather than taken from
 * libcrypto: every command that loads a plan hashes it and each of its steps (a few KB), and
 * loading libcrypto for that (dlopen, ~4,000 relocations: ~2 ms of CPU) costs a hundred times the
 * hashing, which made plan check miss its 3 ms (issue 13). Files and streams, where libcrypto's
 * assembler pays, still go through libcrypto; a unit test holds this one against it. */
static const uint32_t sha256_k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t ror32(uint32_t x, unsigned n) {
        return (x >> n) | (x << (32 - n));
}

/* One 64-byte block into the state h */
static void sha256_block(uint32_t *h, const unsigned char *p) {
        uint32_t w[64], v[8];
        for (unsigned t = 0; t < 16; t++)
                w[t] = (uint32_t) p[4 * t] << 24 | (uint32_t) p[4 * t + 1] << 16 | (uint32_t) p[4 * t + 2] << 8 |
                       p[4 * t + 3];
        for (unsigned t = 16; t < 64; t++) {
                uint32_t s0 = ror32(w[t - 15], 7) ^ ror32(w[t - 15], 18) ^ (w[t - 15] >> 3);
                uint32_t s1 = ror32(w[t - 2], 17) ^ ror32(w[t - 2], 19) ^ (w[t - 2] >> 10);
                w[t] = w[t - 16] + s0 + w[t - 7] + s1;
        }
        memcpy(v, h, sizeof v);
        for (unsigned t = 0; t < 64; t++) {
                uint32_t t1 = v[7] + (ror32(v[4], 6) ^ ror32(v[4], 11) ^ ror32(v[4], 25)) +
                              ((v[4] & v[5]) ^ (~v[4] & v[6])) + sha256_k[t] + w[t];
                uint32_t t2 = (ror32(v[0], 2) ^ ror32(v[0], 13) ^ ror32(v[0], 22)) +
                              ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
                memmove(v + 1, v, 7 * sizeof v[0]);
                v[4] += t1;
                v[0] = t1 + t2;
        }
        for (unsigned i = 0; i < 8; i++)
                h[i] += v[i];
}

/* Merkle-Damgard over 64-byte blocks, as SHA-1, SHA-256 and MD5 pad: the full blocks, then 0x80,
 * zeros and the length in bits as 64 bits (big- or little-endian), in one block or two. */
static void md_blocks(uint32_t *h, void (*block)(uint32_t *, const unsigned char *), const void *data, size_t len,
                      bool big_endian) {
        const unsigned char *p = data;
        unsigned char tail[128] = {0};
        size_t full = len / 64 * 64, rest = len - full;

        for (size_t i = 0; i < full; i += 64)
                block(h, p + i);
        if (rest)
                memcpy(tail, p + full, rest);
        tail[rest] = 0x80;
        size_t n = rest < 56 ? 64 : 128;
        uint64_t bits = (uint64_t) len * 8;
        for (unsigned i = 0; i < 8; i++)
                tail[big_endian ? n - 1 - i : n - 8 + i] = (unsigned char) (bits >> (8 * i));
        for (size_t i = 0; i < n; i += 64)
                block(h, tail + i);
}

/* n words, each big- or little-endian, as bytes */
static void md_words(const uint32_t *h, unsigned n, bool big_endian, unsigned char *md) {
        for (unsigned i = 0; i < n; i++)
                for (unsigned j = 0; j < 4; j++)
                        md[4 * i + j] = (unsigned char) (h[i] >> (big_endian ? 24 - 8 * j : 8 * j));
}

void sha256_digest(const void *data, size_t len, unsigned char md[32]) {
        uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
        md_blocks(h, sha256_block, data, len, true);
        md_words(h, 8, true, md);
}

void sha256_hex(const void *data, size_t len, char ret[65]) {
        unsigned char md[32];
        sha256_digest(data, len, md);
        hex_encode(md, sizeof md, ret);
}

/* SHA-1 (FIPS 180-4, 6.1), for the same reason as SHA-256 above: an OpenPGP v4 key's fingerprint
 * (RFC 4880 12.2) is SHA-1 over a few hundred bytes, which every probe of a source's or keyring's
 * key computes. Not for anything that needs SHA-1 to resist collisions: a fingerprint is compared
 * with the one the plan pins. */
static void sha1_block(uint32_t *h, const unsigned char *p) {
        uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        for (unsigned t = 0; t < 16; t++)
                w[t] = (uint32_t) p[4 * t] << 24 | (uint32_t) p[4 * t + 1] << 16 | (uint32_t) p[4 * t + 2] << 8 |
                       (uint32_t) p[4 * t + 3];
        for (unsigned t = 16; t < 80; t++)
                w[t] = ror32(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 31);
        for (unsigned t = 0; t < 80; t++) {
                uint32_t f, k;
                if (t < 20)
                        f = (b & c) | (~b & d), k = 0x5a827999;
                else if (t < 40)
                        f = b ^ c ^ d, k = 0x6ed9eba1;
                else if (t < 60)
                        f = (b & c) | (b & d) | (c & d), k = 0x8f1bbcdc;
                else
                        f = b ^ c ^ d, k = 0xca62c1d6;
                uint32_t tmp = ror32(a, 27) + f + e + k + w[t];
                e = d;
                d = c;
                c = ror32(b, 2);
                b = a;
                a = tmp;
        }
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
        h[4] += e;
}

void sha1_digest(const void *data, size_t len, unsigned char md[20]) {
        uint32_t h[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
        md_blocks(h, sha1_block, data, len, true);
        md_words(h, 5, true, md);
}

/* MD5 of a buffer in memory, written here from RFC 1321 for the same reason: dpkg's md5sums are
 * what the keyring probe checks its package's files against (a few KB), and loading libcrypto for
 * them was a tenth of a converged rerun's CPU. Larger files still go through libcrypto; a unit
 * test holds this one against it. */
static const uint32_t md5_k[64] = {
        0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
        0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
        0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
        0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
        0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
        0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
        0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
        0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

static void md5_block(uint32_t *h, const unsigned char *p) {
        static const unsigned shift[4][4] = {{7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}};
        uint32_t m[16], a = h[0], b = h[1], c = h[2], d = h[3];
        for (unsigned i = 0; i < 16; i++) /* little-endian words */
                m[i] = (uint32_t) p[4 * i] | (uint32_t) p[4 * i + 1] << 8 | (uint32_t) p[4 * i + 2] << 16 |
                       (uint32_t) p[4 * i + 3] << 24;
        for (unsigned i = 0; i < 64; i++) {
                uint32_t f;
                unsigned g;
                if (i < 16)
                        f = (b & c) | (~b & d), g = i;
                else if (i < 32)
                        f = (d & b) | (~d & c), g = (5 * i + 1) % 16;
                else if (i < 48)
                        f = b ^ c ^ d, g = (3 * i + 5) % 16;
                else
                        f = c ^ (b | ~d), g = (7 * i) % 16;
                f += a + md5_k[i] + m[g];
                a = d;
                d = c;
                c = b;
                b += ror32(f, 32 - shift[i / 16][i % 4]);
        }
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
}

void md5_hex(const void *data, size_t len, char ret[33]) {
        uint32_t h[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
        unsigned char md[16];
        md_blocks(h, md5_block, data, len, false);
        md_words(h, 4, false, md);
        hex_encode(md, sizeof md, ret);
}

static void evp_md_ctx_freep(EVP_MD_CTX **c) {
        EVP_MD_CTX_free(*c);
}

/* A file through the digest alg, whose size is mdsize bytes. */
static int digest_file_hex(const char *path, const EVP_MD *alg, unsigned mdsize, char *ret) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        _cleanup_(evp_md_ctx_freep) EVP_MD_CTX *ctx = NULL;
        unsigned char md[EVP_MAX_MD_SIZE], buf[65536];
        unsigned mdlen = 0;

        if (fd < 0)
                return negative_errno();

        ctx = EVP_MD_CTX_new();
        if (!ctx || EVP_DigestInit_ex(ctx, alg, NULL) != 1)
                abort();
        for (;;) {
                ssize_t n = read(fd, buf, sizeof buf);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                if (EVP_DigestUpdate(ctx, buf, (size_t) n) != 1)
                        abort();
        }
        if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != mdsize)
                abort();
        hex_encode(md, mdlen, ret);
        return 0;
}

/* Up to this size a file is read whole and hashed here, without loading libcrypto (its load and
 * set-up cost more than hashing a keyring package or a conffile); larger ones through libcrypto,
 * whose SHA-256 uses the CPU's instructions for it. 1: hashed into ret; 0: too large (or it grew
 * meanwhile); -errno. */
#define SMALL_FILE (256 * 1024)
static int small_file_hex(const char *path, void (*hex)(const void *, size_t, char *), char *ret) {
        struct stat st;
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > SMALL_FILE)
                return 0;
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int r = read_file(path, SMALL_FILE, &data, &len);
        if (r == -EFBIG)
                return 0;
        if (r < 0)
                return r;
        hex(data, len, ret);
        return 1;
}

int sha256_file_hex(const char *path, char ret[65]) {
        int r = small_file_hex(path, sha256_hex, ret);
        return r != 0 ? (r < 0 ? r : 0) : digest_file_hex(path, EVP_sha256(), 32, ret);
}

int md5_file_hex(const char *path, char ret[33]) {
        int r = small_file_hex(path, md5_hex, ret);
        return r != 0 ? (r < 0 ? r : 0) : digest_file_hex(path, EVP_md5(), 16, ret);
}

void sha256_init(Sha256 *s) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
                abort();
        s->ctx = ctx;
}

void sha256_update(Sha256 *s, const void *data, size_t len) {
        if (EVP_DigestUpdate(s->ctx, data, len) != 1)
                abort();
}

void sha256_final_hex(Sha256 *s, char ret[65]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;

        if (EVP_DigestFinal_ex(s->ctx, md, &mdlen) != 1 || mdlen != 32)
                abort();
        hex_encode(md, mdlen, ret);
        sha256_done(s);
}

void sha256_done(Sha256 *s) {
        EVP_MD_CTX_free(s->ctx);
        s->ctx = NULL;
}
