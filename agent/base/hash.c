#include "base/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/util.h"

void hex_encode(const unsigned char *data, size_t n, char *ret) {
        static const char digits[] = "0123456789abcdef";
        for (size_t i = 0; i < n; i++) {
                ret[2 * i] = digits[data[i] >> 4];
                ret[2 * i + 1] = digits[data[i] & 0xf];
        }
        ret[2 * n] = 0;
}

void sha256_hex(const void *data, size_t len, char ret[65]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
                abort();
        hex_encode(md, mdlen, ret);
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

int sha256_file_hex(const char *path, char ret[65]) {
        return digest_file_hex(path, EVP_sha256(), 32, ret);
}

int md5_file_hex(const char *path, char ret[33]) {
        return digest_file_hex(path, EVP_md5(), 16, ret);
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
