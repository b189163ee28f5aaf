#include "base/hash.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>

#include "base/macro.h"

void hex_encode(const void *data, size_t len, bool upper, char *ret) {
        static const char lower_digits[] = "0123456789abcdef", upper_digits[] = "0123456789ABCDEF";
        const char *digits = upper ? upper_digits : lower_digits;
        const unsigned char *p = data;

        for (size_t i = 0; i < len; i++) {
                ret[2 * i] = digits[p[i] >> 4];
                ret[2 * i + 1] = digits[p[i] & 0xf];
        }
        ret[2 * len] = 0;
}

static void digest_hex(const EVP_MD *alg, size_t size, const void *data, size_t len, char *ret) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;

        if (EVP_Digest(data, len, md, &mdlen, alg, NULL) != 1 || mdlen != size)
                abort();
        hex_encode(md, mdlen, false, ret);
}

void sha256_hex(const void *data, size_t len, char ret[SHA256_HEX_SIZE]) {
        digest_hex(EVP_sha256(), 32, data, len, ret);
}

void md5_hex(const void *data, size_t len, char ret[MD5_HEX_SIZE]) {
        digest_hex(EVP_md5(), 16, data, len, ret);
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

void sha256_final_hex(Sha256 *s, char ret[SHA256_HEX_SIZE]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;

        if (EVP_DigestFinal_ex(s->ctx, md, &mdlen) != 1 || mdlen != 32)
                abort();
        hex_encode(md, mdlen, false, ret);
        sha256_done(s);
}

void sha256_done(Sha256 *s) {
        EVP_MD_CTX_free(s->ctx);
        s->ctx = NULL;
}

int sha256_file_hex(const char *path, char ret[SHA256_HEX_SIZE]) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        _cleanup_(sha256_done) Sha256 s = {0};
        unsigned char buf[65536];

        if (fd < 0)
                return negative_errno();
        sha256_init(&s);
        for (;;) {
                ssize_t n = read(fd, buf, sizeof buf);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                sha256_update(&s, buf, (size_t) n);
        }
        sha256_final_hex(&s, ret);
        return 0;
}
