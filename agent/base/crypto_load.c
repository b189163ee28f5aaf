/* libcrypto through dlopen (base/crypto_load.h, base/dlib.h). */
#include "base/crypto_load.h"

DLIB_DEFINE(Crypto, crypto, CRYPTO_FUNCTIONS, CRYPTO_SONAME, "libssl3")
