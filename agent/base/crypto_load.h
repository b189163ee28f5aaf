/* libcrypto (OpenSSL 3), opened with dlopen (base/dlib.h) the first time gpubase computes a digest
 * or reads a certificate, not at start: status, plan check and --version never load it (nor its
 * ~4,000 relocations).
 *
 * A file that includes this header calls libcrypto as usual: each function it uses is defined
 * below as the loaded library's. */
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/dlib.h"

#if defined(OPENSSL_VERSION_MAJOR) && OPENSSL_VERSION_MAJOR != 3
#error "OpenSSL 3 (libcrypto.so.3) expected"
#endif

#define CRYPTO_SONAME "libcrypto.so.3"

/* X(function) for every libcrypto function gpubase calls */
#define CRYPTO_FUNCTIONS(X) \
        X(BIO_free) X(BIO_new_mem_buf) X(CRYPTO_free) X(EVP_Digest) X(EVP_DigestFinal_ex) \
        X(EVP_DigestInit_ex) X(EVP_DigestUpdate) X(EVP_MD_CTX_free) X(EVP_MD_CTX_new) X(EVP_md5) \
        X(EVP_sha1) X(EVP_sha256) X(PEM_read_bio_X509) X(X509_free) X(d2i_X509) X(i2d_X509)

/* CryptoLib; crypto_lib(), the loaded library (loaded on the first call) */
DLIB_DECLARE(Crypto, crypto, CRYPTO_FUNCTIONS);

#define CRYPTOLIB_FN(f) (crypto_lib()->f_##f)
#define BIO_free CRYPTOLIB_FN(BIO_free)
#define BIO_new_mem_buf CRYPTOLIB_FN(BIO_new_mem_buf)
#define CRYPTO_free CRYPTOLIB_FN(CRYPTO_free)
#define EVP_Digest CRYPTOLIB_FN(EVP_Digest)
#define EVP_DigestFinal_ex CRYPTOLIB_FN(EVP_DigestFinal_ex)
#define EVP_DigestInit_ex CRYPTOLIB_FN(EVP_DigestInit_ex)
#define EVP_DigestUpdate CRYPTOLIB_FN(EVP_DigestUpdate)
#define EVP_MD_CTX_free CRYPTOLIB_FN(EVP_MD_CTX_free)
#define EVP_MD_CTX_new CRYPTOLIB_FN(EVP_MD_CTX_new)
#define EVP_md5 CRYPTOLIB_FN(EVP_md5)
#define EVP_sha1 CRYPTOLIB_FN(EVP_sha1)
#define EVP_sha256 CRYPTOLIB_FN(EVP_sha256)
#define PEM_read_bio_X509 CRYPTOLIB_FN(PEM_read_bio_X509)
#define X509_free CRYPTOLIB_FN(X509_free)
#define d2i_X509 CRYPTOLIB_FN(d2i_X509)
#define i2d_X509 CRYPTOLIB_FN(i2d_X509)
