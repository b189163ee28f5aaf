/* Fuzz target: the OpenPGP keyring reader (host/pgp.h) on arbitrary bytes, through the entry points
 * the agent calls on keyrings it did not write (a plan's key_file, the .gpg/.asc a keyring package
 * ships, the keyring a source names): pgp_dearmor, pgp_keyring_fingerprints,
 * pgp_keyring_has_fingerprint, pgp_keyring_file_has and pgp_keyring_extract (the one-key keyring
 * handed to apt), plus pgp_fingerprint_normalize on the same bytes read as a fingerprint.
 * Signatures (detached, or the clear-signed InRelease) are verified by libapt's gpgv method, not
 * parsed here; the seeds hold some all the same, since a user can hand one over as a key, and they
 * must be refused with a message.
 *
 * Properties: every refusal is -EBADMSG or -EFBIG with a message, and the entry points agree on it;
 * an accepted keyring lists at least one primary key, every fingerprint as 40 or 64 uppercase hex
 * digits without duplicates; its binary form (pgp_dearmor) is the input itself when that was binary,
 * reads back to the same fingerprints, is left alone by a second pgp_dearmor and, armored again
 * here (with headers and a CRC-24 line), decodes back to the same bytes; every primary key is found
 * (also written in lowercase with spaces, and in a file), and extracting it gives a keyring whose
 * only primary key is that one and whose subkeys are the keyring's; a key it does not hold is
 * -ENOENT with a message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/pgp.h"
#include "fuzz.h"

static char *keyring_file;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc;
        (void) argv;
        keyring_file = xasprintf("%s/keyring.gpg", fuzz_scratch_dir());
        return 0;
}

static void check_fingerprint(const char *what, const char *f) {
        size_t n = strlen(f);
        if (n != 40 && n != 64)
                fuzz_fail("%s fingerprint %s has %zu digits", what, f, n);
        for (const char *c = f; *c; c++)
                if (!((*c >= '0' && *c <= '9') || (*c >= 'A' && *c <= 'F')))
                        fuzz_fail("%s fingerprint %s is not uppercase hex", what, f);
}

static bool contains(char *const *l, const char *s) {
        for (size_t i = 0; l && l[i]; i++)
                if (streq(l[i], s))
                        return true;
        return false;
}

static void check_list(const char *what, char *const *l) {
        if (!l)
                fuzz_fail("a NULL list of %s fingerprints", what);
        for (size_t i = 0; l[i]; i++) {
                check_fingerprint(what, l[i]);
                for (size_t j = 0; j < i; j++)
                        if (streq(l[i], l[j]))
                                fuzz_fail("%s fingerprint %s listed twice", what, l[i]);
        }
}

static bool same_list(char *const *a, char *const *b) {
        size_t n = strv_length(a);
        if (n != strv_length(b))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!streq(a[i], b[i]))
                        return false;
        return true;
}

/* "ABCD..." -> "abcd ef01 ..." as users write fingerprints. */
static char *spaced_lowercase(const char *f) {
        size_t n = strlen(f);
        char *s = xmalloc(n + n / 4 + 1), *o = s;
        for (size_t i = 0; i < n; i++) {
                if (i > 0 && i % 4 == 0)
                        *o++ = ' ';
                *o++ = (char) (f[i] >= 'A' ? f[i] - 'A' + 'a' : f[i]);
        }
        *o = 0;
        return s;
}

/* The binary keyring armored as gpg --armor writes it (headers, 64 columns, CRC-24), with text
 * around it that the reader must skip. */
static char *armor(const uint8_t *p, size_t n) {
        static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        Buf b = {0};
        buf_puts(&b, "some text before the key\n-----BEGIN PGP PUBLIC KEY BLOCK-----\r\nComment: fuzz\n\n");
        uint32_t crc = 0xB704CEu;
        for (size_t i = 0; i < n; i++) {
                crc ^= (uint32_t) p[i] << 16;
                for (int j = 0; j < 8; j++) {
                        crc <<= 1;
                        if (crc & 0x1000000u)
                                crc ^= 0x1864CFBu;
                }
        }
        size_t col = 0;
        for (size_t i = 0; i < n; i += 3) {
                uint32_t x = (uint32_t) p[i] << 16 | (i + 1 < n ? (uint32_t) p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
                char q[4] = {b64[x >> 18 & 63], b64[x >> 12 & 63], i + 1 < n ? b64[x >> 6 & 63] : '=',
                             i + 2 < n ? b64[x & 63] : '='};
                buf_append(&b, q, 4);
                if ((col += 4) == 64) {
                        buf_puts(&b, "\n");
                        col = 0;
                }
        }
        crc &= 0xFFFFFFu;
        char c[8] = {'\n', '=', b64[crc >> 18 & 63], b64[crc >> 12 & 63], b64[crc >> 6 & 63], b64[crc & 63], '\n', 0};
        buf_puts(&b, col ? c : c + 1);
        buf_puts(&b, "-----END PGP PUBLIC KEY BLOCK-----\ntrailing text\n");
        return buf_steal(&b);
}

/* The binary form: what the input's armor decodes to, or the input itself. */
static void check_dearmor(const uint8_t *data, size_t size, char *const *primary, char *const *subkeys, void **ret,
                          size_t *ret_len) {
        void *bin = NULL;
        size_t n = 0;
        _cleanup_free_ char *err = NULL;
        int r = pgp_dearmor(data, size, &bin, &n, &err);
        if (r < 0)
                fuzz_fail("pgp_dearmor refused (%d: %s) a keyring pgp_keyring_fingerprints read", r, err ? err : "");
        if (!pgp_is_armored(data, size) && (n != size || memcmp(bin, data, n) != 0))
                fuzz_fail("pgp_dearmor changed a binary keyring");
        if (pgp_is_armored(bin, n))
                fuzz_fail("pgp_dearmor's output looks armored");
        _cleanup_strv_free_ char **p2 = NULL, **s2 = NULL;
        _cleanup_free_ char *err2 = NULL;
        r = pgp_keyring_fingerprints(bin, n, &p2, &s2, &err2);
        if (r < 0)
                fuzz_fail("pgp_dearmor's output does not read back (%d: %s)", r, err2 ? err2 : "");
        if (!same_list(primary, p2) || !same_list(subkeys, s2))
                fuzz_fail("pgp_dearmor's output lists other keys than its input");
        void *again = NULL;
        size_t again_n = 0;
        if (pgp_dearmor(bin, n, &again, &again_n, NULL) < 0 || again_n != n || memcmp(again, bin, n) != 0)
                fuzz_fail("pgp_dearmor of a binary keyring is not that keyring");
        free(again);
        _cleanup_free_ char *text = armor(bin, n);
        if (pgp_dearmor(text, strlen(text), &again, &again_n, NULL) < 0 || again_n != n || memcmp(again, bin, n) != 0)
                fuzz_fail("the keyring armored again does not decode to the same bytes");
        free(again);
        *ret = bin;
        *ret_len = n;
}

/* Every primary key is found and extracts alone (the first few: each one re-reads the keyring). */
static void check_keys(const uint8_t *data, size_t size, char *const *primary, char *const *subkeys) {
        for (size_t i = 0; primary[i] && i < 4; i++) {
                _cleanup_free_ char *user = spaced_lowercase(primary[i]);
                if (pgp_keyring_has_fingerprint(data, size, primary[i]) != 1 ||
                    pgp_keyring_has_fingerprint(data, size, user) != 1)
                        fuzz_fail("primary key %s listed but not found", primary[i]);
                _cleanup_free_ void *one = NULL;
                size_t n = 0;
                _cleanup_free_ char *err = NULL;
                int r = pgp_keyring_extract(data, size, user, &one, &n, &err);
                if (r < 0)
                        fuzz_fail("primary key %s listed but not extracted (%d: %s)", primary[i], r, err ? err : "");
                _cleanup_strv_free_ char **p1 = NULL, **s1 = NULL;
                if (pgp_keyring_fingerprints(one, n, &p1, &s1, NULL) < 0)
                        fuzz_fail("the keyring extracted for %s does not read back", primary[i]);
                if (strv_length(p1) != 1 || !streq(p1[0], primary[i]))
                        fuzz_fail("the keyring extracted for %s holds other primary keys", primary[i]);
                for (size_t j = 0; s1[j]; j++)
                        if (!contains(subkeys, s1[j]))
                                fuzz_fail("the keyring extracted for %s holds subkey %s the keyring has not", primary[i],
                                          s1[j]);
                _cleanup_free_ void *again = NULL;
                size_t again_n = 0;
                if (pgp_keyring_extract(one, n, primary[i], &again, &again_n, NULL) < 0 || again_n != n ||
                    memcmp(again, one, n) != 0)
                        fuzz_fail("extracting %s from its own keyring changed it", primary[i]);
        }
        const char *absent = "0000000000000000000000000000000000000000";
        if (!contains(primary, absent)) {
                _cleanup_free_ void *none = NULL;
                size_t n = 0;
                _cleanup_free_ char *err = NULL;
                if (pgp_keyring_has_fingerprint(data, size, absent) != 0)
                        fuzz_fail("a key the keyring does not list was found");
                if (pgp_keyring_extract(data, size, absent, &none, &n, &err) != -ENOENT || !err || !*err)
                        fuzz_fail("extracting a key the keyring does not list was not -ENOENT with a message");
        }
}

static void check_refusal(const uint8_t *data, size_t size, int r, const char *err) {
        if ((r != -EBADMSG && r != -EFBIG) || !err || !*err)
                fuzz_fail("keyring refused with %d and message \"%s\"", r, err ? err : "(none)");
        void *bin = NULL;
        size_t n = 0;
        _cleanup_free_ char *err2 = NULL, *err3 = NULL;
        if (pgp_dearmor(data, size, &bin, &n, &err2) != r || !err2 || !*err2)
                fuzz_fail("pgp_dearmor does not refuse what pgp_keyring_fingerprints refused (%s)", err);
        if (pgp_keyring_has_fingerprint(data, size, "0000 0000 0000 0000 0000  0000 0000 0000 0000 0000") != r)
                fuzz_fail("pgp_keyring_has_fingerprint does not refuse what pgp_keyring_fingerprints refused (%s)", err);
        if (pgp_keyring_extract(data, size, "0000000000000000000000000000000000000000", &bin, &n, &err3) != r ||
            !err3 || !*err3)
                fuzz_fail("pgp_keyring_extract does not refuse what pgp_keyring_fingerprints refused (%s)", err);
}

/* The bytes read as a fingerprint a plan names. */
static void check_normalize(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = xstrndup((const char *) data, size < 200 ? size : 200);
        _cleanup_free_ char *f = NULL, *f2 = NULL;
        if (pgp_fingerprint_normalize(s, &f) < 0)
                return;
        check_fingerprint("normalized", f);
        if (pgp_fingerprint_normalize(f, &f2) < 0 || !streq(f, f2))
                fuzz_fail("normalizing fingerprint %s again changed it", f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        check_normalize(data, size);
        _cleanup_strv_free_ char **primary = NULL, **subkeys = NULL;
        _cleanup_free_ char *err = NULL;
        int r = pgp_keyring_fingerprints(data, size, &primary, &subkeys, &err);
        if (r < 0) {
                check_refusal(data, size, r, err);
                return 0;
        }
        if (err)
                fuzz_fail("keyring accepted with a message: %s", err);
        if (strv_length(primary) == 0)
                fuzz_fail("keyring accepted without a primary key");
        check_list("primary", primary);
        check_list("subkey", subkeys);
        _cleanup_free_ void *bin = NULL;
        size_t n = 0;
        check_dearmor(data, size, primary, subkeys, &bin, &n);
        check_keys(data, size, primary, subkeys);
        fuzz_write_file(keyring_file, data, size);
        if (!pgp_keyring_file_has(keyring_file, primary[0]))
                fuzz_fail("the keyring written to a file does not hold %s", primary[0]);
        return 0;
}
