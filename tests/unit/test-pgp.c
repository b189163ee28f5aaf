/* OpenPGP keyrings: fingerprints of keys made by gpg at test time (RSA and Ed25519, each with a
 * subkey) must match what `gpg --show-keys` says about the same files, binary and armored, one key
 * and two; the same packets re-encoded with every header and length form; RFC 9580's sample keys
 * (v4 Ed25519 with a new-format header, v6); and refusals: corrupted CRC, truncated packets,
 * secret keys, garbage. Needs gpg and gpg-agent (Debian: gpg, gpg-agent). */
#include <check.h>
#include <ftw.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tests.h"
#include "host/pgp.h"

Suite *pgp_suite(void);

static char *dir; /* scratch directory of the suite, keys exported there */

static void *mfree(void *p) {
        free(p);
        return NULL;
}

#define sh(...) test_sh(dir, __VA_ARGS__)
#define slurp(name, len) test_slurp(dir, name, len)

/* NVIDIA's CUDA repository key: in none of the test keyrings */
#define NVIDIA_FPR "EB69 3B30 35CD 5710 E231 E123 A4B4 6996 3BF8 63CC"

#define GPG "gpg --batch --quiet --no-tty --pinentry-mode loopback --passphrase ''"

static void pgp_setup(void) {
        const char *tmp = getenv("TMPDIR");
        _cleanup_free_ char *tmpl = xasprintf("%s/gpubase-pgp.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        ck_assert_msg(mkdtemp(tmpl), "mkdtemp: %s", strerror(errno));
        dir = TAKE_PTR(tmpl);

        /* Two keys with one subkey each; exported binary and armored, one by one and together. */
        free(sh("set -e\n"
                "export GNUPGHOME='%1$s/gnupg'\n"
                "mkdir -m 0700 \"$GNUPGHOME\"\n"
                "trap 'gpgconf --kill gpg-agent' EXIT\n" /* even when a step fails */
                "cd '%1$s'\n"
                "g() { " GPG " \"$@\"; }\n"
                "fpr() { g --with-colons --list-keys \"$1\" | awk -F: '$1 == \"fpr\" { print $10; exit }'; }\n"
                "g --quick-gen-key 'rsa test <rsa@example>' rsa2048 default never\n"
                "g --quick-add-key \"$(fpr rsa@example)\" rsa2048 encr never\n"
                "g --quick-gen-key 'ed test <ed@example>' ed25519 default never\n"
                "g --quick-add-key \"$(fpr ed@example)\" cv25519 encr never\n"
                "for k in rsa ed; do g --export $k@example >$k.gpg; g --export --armor $k@example >$k.asc; done\n"
                "g --export rsa@example ed@example >both.gpg\n"
                "g --export --armor rsa@example ed@example >both.asc\n"
                "g --dearmor <both.asc >both.dearmored\n"
                "g --export-secret-keys ed@example >secret.gpg\n"
                "g --export-secret-keys --armor ed@example >secret.asc\n"
                "g --trust-model always --no-default-keyring --keyring '%1$s/keybox.kbx' --import rsa.gpg\n",
                dir));
}

static void pgp_teardown(void) {
        if (!dir)
                return;
        _cleanup_free_ char *cmd = xasprintf("GNUPGHOME='%s/gnupg' gpgconf --kill gpg-agent 2>/dev/null", dir);
        (void) system(cmd);
        test_rm_rf(dir);
        free(dir);
        dir = NULL;
}

/* What gpg says about a keyring file: primary and subkey fingerprints, in file order. */
static void gpg_show_keys(const char *name, char ***ret_primary, char ***ret_subkeys) {
        _cleanup_free_ char *out =
                sh("GNUPGHOME='%1$s/gnupg' " GPG " --with-colons --show-keys '%1$s/%2$s'", dir, name);
        char **primary = xcalloc(1, sizeof(char *)), **subkeys = xcalloc(1, sizeof(char *));
        const char *last = "";

        for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
                if (startswith(line, "pub:"))
                        last = "pub";
                else if (startswith(line, "sub:"))
                        last = "sub";
                else if (startswith(line, "fpr:")) {
                        /* fpr:::::::::<fingerprint>: — field 10 */
                        const char *p = line;
                        for (int i = 0; i < 9 && p; i++)
                                p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL;
                        ck_assert_ptr_nonnull(p);
                        char *f = xstrndup(p, strcspn(p, ":"));
                        strv_push(streq(last, "pub") ? &primary : &subkeys, f);
                        last = "";
                }
        }
        *ret_primary = primary;
        *ret_subkeys = subkeys;
}

static void assert_strv_eq(char *const *a, char *const *b) {
        _cleanup_free_ char *sa = strv_join(a, " "), *sb = strv_join(b, " ");
        ck_assert_str_eq(sa, sb);
}

/* Our fingerprints of data equal gpg's of the file `name`. */
static void check_against_gpg(const void *data, size_t len, const char *name, size_t want_keys) {
        _cleanup_strv_free_ char **primary = NULL, **subkeys = NULL, **gpg_primary = NULL, **gpg_subkeys = NULL;
        _cleanup_free_ char *why = NULL;

        int r = pgp_keyring_fingerprints(data, len, &primary, &subkeys, &why);
        ck_assert_msg(r == 0, "%s: %d %s", name, r, why);
        gpg_show_keys(name, &gpg_primary, &gpg_subkeys);
        ck_assert_uint_eq(strv_length(gpg_primary), want_keys);
        ck_assert_uint_eq(strv_length(gpg_subkeys), want_keys);
        assert_strv_eq(primary, gpg_primary);
        assert_strv_eq(subkeys, gpg_subkeys);
        for (size_t i = 0; primary[i]; i++)
                ck_assert_uint_eq(strlen(primary[i]), 40);
}

static void check_file(const char *name, size_t want_keys) {
        size_t len;
        _cleanup_free_ char *data = slurp(name, &len);
        check_against_gpg(data, len, name, want_keys);
}

START_TEST(test_binary_keys) {
        check_file("rsa.gpg", 1);
        check_file("ed.gpg", 1);
}
END_TEST

START_TEST(test_armored_keys) {
        size_t len;
        _cleanup_free_ char *asc = slurp("rsa.asc", &len);
        ck_assert(pgp_is_armored(asc, len));
        check_file("rsa.asc", 1);
        check_file("ed.asc", 1);
}
END_TEST

START_TEST(test_two_keys) {
        check_file("both.gpg", 2);
        check_file("both.asc", 2);
}
END_TEST

/* Two armor blocks one after the other (cat a.asc b.asc), with text around them. */
START_TEST(test_concatenated_armor) {
        size_t l1, l2;
        _cleanup_free_ char *a = slurp("rsa.asc", &l1), *b = slurp("ed.asc", &l2);
        _cleanup_free_ char *text = xasprintf("Key for the test repository:\n\n%s\nand another one\r\n%s\n", a, b);
        _cleanup_strv_free_ char **primary = NULL, **subkeys = NULL, **p1 = NULL, **s1 = NULL, **p2 = NULL, **s2 = NULL;
        _cleanup_free_ char *why = NULL;

        ck_assert_int_eq(pgp_keyring_fingerprints(text, strlen(text), &primary, &subkeys, &why), 0);
        gpg_show_keys("rsa.gpg", &p1, &s1);
        gpg_show_keys("ed.gpg", &p2, &s2);
        ck_assert_uint_eq(strv_length(primary), 2);
        ck_assert_str_eq(primary[0], p1[0]);
        ck_assert_str_eq(primary[1], p2[0]);
        ck_assert_str_eq(subkeys[0], s1[0]);
        ck_assert_str_eq(subkeys[1], s2[0]);
}
END_TEST

START_TEST(test_dearmor) {
        size_t alen, blen, dlen, out_len;
        _cleanup_free_ char *asc = slurp("both.asc", &alen), *bin = slurp("both.gpg", &blen),
                            *gpg_out = slurp("both.dearmored", &dlen);
        _cleanup_free_ void *out = NULL, *copy = NULL;
        _cleanup_free_ char *why = NULL;

        ck_assert_int_eq(pgp_dearmor(asc, alen, &out, &out_len, &why), 0);
        ck_assert_uint_eq(out_len, blen);
        ck_assert(memcmp(out, bin, blen) == 0);
        ck_assert_uint_eq(out_len, dlen);
        ck_assert(memcmp(out, gpg_out, dlen) == 0);

        /* Binary in, the same bytes out. */
        ck_assert(!pgp_is_armored(bin, blen));
        ck_assert_int_eq(pgp_dearmor(bin, blen, &copy, &out_len, &why), 0);
        ck_assert_uint_eq(out_len, blen);
        ck_assert(memcmp(copy, bin, blen) == 0);
}
END_TEST

/* The armor with its checksum line replaced by `crc` (NULL: removed). */
static char *with_crc(const char *asc, const char *crc) {
        const char *end = strstr(asc, "\n-----END PGP PUBLIC KEY BLOCK-----");
        ck_assert_ptr_nonnull(end);
        const char *line = end;
        while (line > asc && line[-1] != '\n')
                line--;
        ck_assert_int_eq(line[0], '=');
        return xasprintf("%.*s%s%s%s", (int) (line - asc), asc, crc ? crc : "", crc ? "\n" : "", end + 1);
}

START_TEST(test_crc) {
        size_t len;
        _cleanup_free_ char *asc = slurp("rsa.asc", &len);
        _cleanup_free_ char *why = NULL, *no_crc = with_crc(asc, NULL), *bad_crc = NULL, *flipped = NULL;
        _cleanup_strv_free_ char **primary = NULL;

        /* A checksum that does not match. */
        const char *end = strstr(asc, "\n-----END");
        const char *line = end;
        while (line[-1] != '\n')
                line--;
        _cleanup_free_ char *crc = xstrndup(line, (size_t) (end - line));
        crc[1] = crc[1] == 'A' ? 'B' : 'A';
        bad_crc = with_crc(asc, crc);
        ck_assert_int_eq(pgp_keyring_fingerprints(bad_crc, strlen(bad_crc), &primary, NULL, &why), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(why, "CRC"));
        why = mfree(why);
        ck_assert_int_eq(pgp_keyring_has_fingerprint(bad_crc, strlen(bad_crc), NVIDIA_FPR), -EBADMSG);

        /* One base64 character of the body changed: still decodes, the CRC catches it. */
        flipped = xstrdup(asc);
        char *body = strstr(flipped, "\n\n") + 2 + 100;
        *body = *body == 'Q' ? 'R' : 'Q';
        ck_assert_int_eq(pgp_keyring_fingerprints(flipped, strlen(flipped), &primary, NULL, &why), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(why, "CRC"));
        why = mfree(why);

        /* The checksum is optional (RFC 9580). */
        ck_assert_int_eq(pgp_keyring_fingerprints(no_crc, strlen(no_crc), &primary, NULL, &why), 0);
        ck_assert_uint_eq(strv_length(primary), 1);

        /* Cut before the END line. */
        ck_assert_int_eq(pgp_keyring_fingerprints(asc, (size_t) (end - asc), NULL, NULL, &why), -EBADMSG);
}
END_TEST

/* Every prefix of a binary keyring: either refused as truncated, or (when it ends between two
 * packets after the first key) accepted; never a read past the end (ASan). */
START_TEST(test_truncated) {
        size_t len;
        _cleanup_free_ char *bin = slurp("both.gpg", &len);
        size_t refused = 0;

        for (size_t n = 0; n < len; n++) {
                _cleanup_free_ char *why = NULL;
                _cleanup_strv_free_ char **primary = NULL, **subkeys = NULL;
                /* a copy of exactly n bytes, so that ASan sees any over-read */
                _cleanup_free_ char *cut = xmalloc(n);
                memcpy(cut, bin, n);
                int r = pgp_keyring_fingerprints(cut, n, &primary, &subkeys, &why);
                ck_assert_msg(r == 0 || r == -EBADMSG, "prefix %zu: %d", n, r);
                ck_assert((r < 0) == (why != NULL));
                if (r < 0)
                        refused++;
        }
        ck_assert_uint_gt(refused, len - 20);

        _cleanup_free_ char *why = NULL;
        ck_assert_int_eq(pgp_keyring_fingerprints(bin, len - 1, NULL, NULL, &why), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(why, "truncated"));
        ck_assert_int_eq(pgp_keyring_has_fingerprint(bin, 10, NVIDIA_FPR),
                         -EBADMSG);
}
END_TEST

/* ---- the same packets with other headers ---- */

typedef struct Packet {
        unsigned tag;
        const uint8_t *body;
        size_t len;
} Packet;

/* Splits gpg's output (old-format headers, 1/2/4-byte lengths) into packets. */
static size_t split_packets(const uint8_t *p, size_t len, Packet *out, size_t max) {
        size_t n = 0;
        for (size_t off = 0; off < len;) {
                uint8_t ctb = p[off++];
                ck_assert(ctb & 0x80);
                ck_assert(!(ctb & 0x40));
                unsigned lt = ctb & 3;
                ck_assert_uint_lt(lt, 3);
                size_t nb = (size_t) 1 << lt, l = 0;
                for (size_t i = 0; i < nb; i++)
                        l = l << 8 | p[off + i];
                off += nb;
                ck_assert_uint_lt(n, max);
                out[n++] = (Packet){ .tag = (ctb >> 2) & 0xf, .body = p + off, .len = l };
                off += l;
        }
        return n;
}

static void put(Buf *b, unsigned byte) {
        char c = (char) byte;
        buf_append(b, &c, 1);
}

static void put_be32(Buf *b, size_t v) {
        for (int s = 24; s >= 0; s -= 8)
                put(b, (unsigned) (v >> s) & 0xff);
}

typedef enum Encoding {
        NEW_SHORTEST, /* one-octet below 192, two-octet up to 8383, five-octet above */
        NEW_FIVE,     /* five-octet lengths everywhere */
        NEW_PARTIAL,  /* partial body lengths of 16 bytes, then the rest */
        OLD_FOUR,     /* old format, four-byte lengths, the last packet of indeterminate length */
} Encoding;

static void encode(const Packet *pk, size_t n, Encoding enc, Buf *out) {
        for (size_t i = 0; i < n; i++) {
                const Packet *p = pk + i;
                size_t l = p->len;
                switch (enc) {
                case NEW_SHORTEST:
                        put(out, 0xC0 | p->tag);
                        if (l < 192)
                                put(out, (unsigned) l);
                        else if (l <= 8383) {
                                put(out, (unsigned) ((l - 192) >> 8) + 192);
                                put(out, (unsigned) (l - 192) & 0xff);
                        } else {
                                put(out, 255);
                                put_be32(out, l);
                        }
                        buf_append(out, (const char *) p->body, l);
                        break;
                case NEW_FIVE:
                        put(out, 0xC0 | p->tag);
                        put(out, 255);
                        put_be32(out, l);
                        buf_append(out, (const char *) p->body, l);
                        break;
                case NEW_PARTIAL: {
                        size_t off = 0;
                        put(out, 0xC0 | p->tag);
                        for (; l - off > 16; off += 16) {
                                put(out, 224 + 4); /* 1 << 4 */
                                buf_append(out, (const char *) p->body + off, 16);
                        }
                        put(out, (unsigned) (l - off)); /* the last part, a normal length */
                        buf_append(out, (const char *) p->body + off, l - off);
                        break;
                }
                case OLD_FOUR:
                        if (i + 1 == n)
                                put(out, 0x80 | p->tag << 2 | 3);
                        else {
                                put(out, 0x80 | p->tag << 2 | 2);
                                put_be32(out, l);
                        }
                        buf_append(out, (const char *) p->body, l);
                        break;
                }
        }
}

START_TEST(test_header_forms) {
        size_t len;
        _cleanup_free_ char *bin = slurp("both.gpg", &len);
        _cleanup_strv_free_ char **want_p = NULL, **want_s = NULL;
        Packet pk[64];
        size_t n = split_packets((const uint8_t *) bin, len, pk, ELEMENTSOF(pk));
        bool saw_two_octet = false;

        for (size_t i = 0; i < n; i++)
                if (pk[i].len >= 192 && pk[i].len <= 8383)
                        saw_two_octet = true;
        ck_assert(saw_two_octet); /* the RSA key packet */
        gpg_show_keys("both.gpg", &want_p, &want_s);

        for (Encoding enc = NEW_SHORTEST; enc <= OLD_FOUR; enc++) {
                _cleanup_(buf_done) Buf b = {0};
                _cleanup_strv_free_ char **primary = NULL, **subkeys = NULL;
                _cleanup_free_ char *why = NULL;
                encode(pk, n, enc, &b);
                ck_assert(b.len != len || memcmp(b.data, bin, len) != 0);
                int r = pgp_keyring_fingerprints(b.data, b.len, &primary, &subkeys, &why);
                ck_assert_msg(r == 0, "encoding %d: %d %s", enc, r, why);
                assert_strv_eq(primary, want_p);
                assert_strv_eq(subkeys, want_s);

                /* and cut short by one byte (for OLD_FOUR the indeterminate last packet just ends
                 * earlier, which is not detectable: cut inside the first packet instead) */
                size_t cut = enc == OLD_FOUR ? 100 : b.len - 1;
                _cleanup_free_ char *why2 = NULL;
                ck_assert_int_eq(pgp_keyring_fingerprints(b.data, cut, NULL, NULL, &why2), -EBADMSG);
        }
}
END_TEST

/* RFC 9580 A.2 and A.3: a v4 Ed25519 key with a new-format header, and a v6 certificate. */
START_TEST(test_rfc9580_samples) {
        static const char v4[] = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n"
                                 "\n"
                                 "xjMEU/NfCxYJKwYBBAHaRw8BAQdAPwmJlL3ZFu1AUxl5NOSofIBzOhKA1i+AEJku\n"
                                 "Q+47JAY=\n"
                                 "-----END PGP PUBLIC KEY BLOCK-----\n";
        static const char v6[] = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n"
                                 "\n"
                                 "xioGY4d/4xsAAAAg+U2nu0jWCmHlZ3BqZYfQMxmZu52JGggkLq2EVD34laPCsQYf\n"
                                 "GwoAAABCBYJjh3/jAwsJBwUVCg4IDAIWAAKbAwIeCSIhBssYbE8GCaaX5NUt+mxy\n"
                                 "KwwfHifBilZwj2Ul7Ce62azJBScJAgcCAAAAAK0oIBA+LX0ifsDm185Ecds2v8lw\n"
                                 "gyU2kCcUmKfvBXbAf6rhRYWzuQOwEn7E/aLwIwRaLsdry0+VcallHhSu4RN6HWaE\n"
                                 "QsiPlR4zxP/TP7mhfVEe7XWPxtnMUMtf15OyA51YBM4qBmOHf+MZAAAAIIaTJINn\n"
                                 "+eUBXbki+PSAld2nhJh/LVmFsS+60WyvXkQ1wpsGGBsKAAAALAWCY4d/4wKbDCIh\n"
                                 "BssYbE8GCaaX5NUt+mxyKwwfHifBilZwj2Ul7Ce62azJAAAAAAQBIKbpGG2dWTX8\n"
                                 "j+VjFM21J0hqWlEg+bdiojWnKfA5AQpWUWtnNwDEM0g12vYxoWM8Y81W+bHBw805\n"
                                 "I8kWVkXU6vFOi+HWvv/ira7ofJu16NnoUkhclkUrk0mXubZvyl4GBg==\n"
                                 "-----END PGP PUBLIC KEY BLOCK-----\n";
        _cleanup_strv_free_ char **primary = NULL, **subkeys = NULL;
        _cleanup_free_ char *why = NULL;

        ck_assert_int_eq(pgp_keyring_fingerprints(v4, strlen(v4), &primary, &subkeys, &why), 0);
        ck_assert_uint_eq(strv_length(primary), 1);
        ck_assert_str_eq(primary[0], "C959BDBAFA32A2F89A153B678CFDE12197965A9A");
        ck_assert_uint_eq(strv_length(subkeys), 0);
        primary = strv_free(primary);
        subkeys = strv_free(subkeys);

        ck_assert_int_eq(pgp_keyring_fingerprints(v6, strlen(v6), &primary, &subkeys, &why), 0);
        ck_assert_uint_eq(strv_length(primary), 1);
        ck_assert_str_eq(primary[0], "CB186C4F0609A697E4D52DFA6C722B0C1F1E27C18A56708F6525EC27BAD9ACC9");
        ck_assert_uint_eq(strv_length(subkeys), 1);
        ck_assert_str_eq(subkeys[0], "12C83F1E706F6308FE151A417743A1F033790E93E9978488D1DB378DA9930885");
        ck_assert_int_eq(
                pgp_keyring_has_fingerprint(v6, strlen(v6), "cb186c4f0609a697e4d52dfa6c722b0c1f1e27c18a56708f6525ec27bad9acc9"),
                1);
}
END_TEST

START_TEST(test_has_fingerprint) {
        size_t len;
        _cleanup_free_ char *asc = slurp("rsa.asc", &len);
        _cleanup_strv_free_ char **p = NULL, **s = NULL, **ed_p = NULL, **ed_s = NULL;

        gpg_show_keys("rsa.gpg", &p, &s);
        gpg_show_keys("ed.gpg", &ed_p, &ed_s);

        /* As users write it: groups of four, lowercase. */
        Buf spaced = {0};
        for (size_t i = 0; i < 40; i += 4)
                buf_printf(&spaced, "%s%.4s", i == 20 ? "  " : i ? " " : "", p[0] + i);
        _cleanup_free_ char *user = buf_steal(&spaced);
        for (char *c = user; *c; c++)
                *c = (char) (*c >= 'A' && *c <= 'F' ? *c - 'A' + 'a' : *c);

        ck_assert_int_eq(pgp_keyring_has_fingerprint(asc, len, p[0]), 1);
        ck_assert_int_eq(pgp_keyring_has_fingerprint(asc, len, user), 1);
        ck_assert_int_eq(pgp_keyring_has_fingerprint(asc, len, ed_p[0]), 0);
        ck_assert_int_eq(pgp_keyring_has_fingerprint(asc, len, s[0]), 0); /* a subkey is not a pin */
        ck_assert_int_eq(pgp_keyring_has_fingerprint(asc, len, NVIDIA_FPR), 0);
        ck_assert_int_eq(pgp_keyring_has_fingerprint(asc, len, "3BF863CC"), -EINVAL);
        ck_assert_int_eq(pgp_keyring_has_fingerprint(asc, len, ""), -EINVAL);
}
END_TEST

/* One key out of a keyring of two (what apt-keyring-deb hands apt to verify a repository with): the
 * same packets gpg exports for that key alone, from binary and armored input; a subkey or an absent
 * key is not found. */
START_TEST(test_extract) {
        size_t blen, alen, rlen, elen;
        _cleanup_free_ char *both = slurp("both.gpg", &blen), *asc = slurp("both.asc", &alen);
        _cleanup_free_ char *rsa = slurp("rsa.gpg", &rlen), *ed = slurp("ed.gpg", &elen);
        _cleanup_strv_free_ char **p = NULL, **s = NULL, **ed_p = NULL, **ed_s = NULL;
        void *out = NULL;
        size_t n = 0;
        char *why = NULL;

        gpg_show_keys("rsa.gpg", &p, &s);
        gpg_show_keys("ed.gpg", &ed_p, &ed_s);

        ck_assert_int_eq(pgp_keyring_extract(both, blen, p[0], &out, &n, &why), 0);
        ck_assert_uint_eq(n, rlen);
        ck_assert(memcmp(out, rsa, n) == 0);
        out = mfree(out);
        ck_assert_int_eq(pgp_keyring_extract(asc, alen, ed_p[0], &out, &n, &why), 0);
        ck_assert_uint_eq(n, elen);
        ck_assert(memcmp(out, ed, n) == 0);
        _cleanup_strv_free_ char **only = NULL;
        ck_assert_int_eq(pgp_keyring_fingerprints(out, n, &only, NULL, NULL), 0);
        ck_assert_uint_eq(strv_length(only), 1);
        ck_assert_str_eq(only[0], ed_p[0]);
        out = mfree(out);

        ck_assert_int_eq(pgp_keyring_extract(both, blen, s[0], &out, &n, &why), -ENOENT);
        ck_assert_ptr_nonnull(why);
        why = mfree(why);
        ck_assert_int_eq(pgp_keyring_extract(both, blen, NVIDIA_FPR, &out, &n, &why), -ENOENT);
        why = mfree(why);
        ck_assert_int_eq(pgp_keyring_extract(both, blen, "3BF863CC", &out, &n, &why), -EINVAL);
        why = mfree(why);
        ck_assert_ptr_null(out);
}
END_TEST

START_TEST(test_fingerprint_normalize) {
        static const struct {
                const char *in, *out;
        } ok[] = {
                { "EB69 3B30 35CD 5710 E231  E123 A4B4 6996 3BF8 63CC", "EB693B3035CD5710E231E123A4B469963BF863CC" },
                { "eb693b3035cd5710e231e123a4b469963bf863cc", "EB693B3035CD5710E231E123A4B469963BF863CC" },
                { "\teb69 3b30 35cd 5710 e231 e123 a4b4 6996 3bf8 63cc ", "EB693B3035CD5710E231E123A4B469963BF863CC" },
                { "CB186C4F0609A697E4D52DFA6C722B0C1F1E27C18A56708F6525EC27BAD9ACC9",
                  "CB186C4F0609A697E4D52DFA6C722B0C1F1E27C18A56708F6525EC27BAD9ACC9" },
        };
        static const char *const bad[] = {
                "",
                "3BF863CC",                                    /* short key id */
                "A4B469963BF863CC",                            /* long key id */
                "EB693B3035CD5710E231E123A4B469963BF863C",     /* 39 */
                "EB693B3035CD5710E231E123A4B469963BF863CCA",   /* 41 */
                "0xEB693B3035CD5710E231E123A4B469963BF863CC",
                "EB693B3035CD5710E231E123A4B469963BF863CG",
                "EB69:3B30:35CD:5710:E231:E123:A4B4:6996:3BF8:63CC",
                "EB693B3035CD5710E231E123A4B469963BF863CC\n",
        };

        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                _cleanup_free_ char *out = NULL;
                ck_assert_int_eq(pgp_fingerprint_normalize(ok[i].in, &out), 0);
                ck_assert_str_eq(out, ok[i].out);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *out = NULL;
                ck_assert_msg(pgp_fingerprint_normalize(bad[i], &out) == -EINVAL, "accepted \"%s\"", bad[i]);
                ck_assert_ptr_null(out);
        }
}
END_TEST

START_TEST(test_refused) {
        size_t slen, aslen;
        _cleanup_free_ char *secret = slurp("secret.gpg", &slen), *secret_asc = slurp("secret.asc", &aslen);
        static const char *const texts[] = {
                "",
                "hello, world\n",
                "<html><body>404 Not Found</body></html>\n",
                "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n-----END PGP PUBLIC KEY BLOCK-----\n",
                /* a character that is not base64 */
                "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxjMEU/NfCx*YJKwYBBAHaRw8B\n"
                "-----END PGP PUBLIC KEY BLOCK-----\n",
                /* no END line */
                "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n"
                "xjMEU/NfCxYJKwYBBAHaRw8BAQdAPwmJlL3ZFu1AUxl5NOSofIBzOhKA1i+AEJku\n",
                "-----BEGIN PGP SIGNATURE-----\n\nxjME\n-----END PGP SIGNATURE-----\n",
        };
        static const uint8_t binary[][8] = {
                { 0x80 },                   /* old format, tag 0, no length */
                { 0xC6, 0x05, 4, 0, 0, 0 }, /* new format, 5 bytes announced, 4 there */
                { 0xC6, 0xFF, 0, 0 },       /* five-octet length cut short */
                { 0xB4, 0x01, 'x' },        /* a user ID and no key */
                { 0xCE, 0x06, 4, 0, 0, 0, 0, 1 }, /* a subkey without its primary */
        };
        static const size_t binary_len[] = { 1, 6, 4, 3, 8 };

        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                _cleanup_free_ char *why = NULL;
                void *out = NULL;
                size_t out_len = 0;
                ck_assert_msg(pgp_keyring_fingerprints(texts[i], strlen(texts[i]), NULL, NULL, &why) == -EBADMSG,
                              "text %zu accepted", i);
                ck_assert_ptr_nonnull(why);
                why = mfree(why);
                ck_assert_int_eq(pgp_dearmor(texts[i], strlen(texts[i]), &out, &out_len, &why), -EBADMSG);
                ck_assert_ptr_null(out);
        }
        for (size_t i = 0; i < ELEMENTSOF(binary); i++) {
                _cleanup_free_ char *why = NULL;
                ck_assert_msg(pgp_keyring_fingerprints(binary[i], binary_len[i], NULL, NULL, &why) == -EBADMSG,
                              "binary %zu accepted", i);
        }

        /* GnuPG's keybox format is not a keyring we read: said so, not "no armor block". */
        size_t klen;
        _cleanup_free_ char *kbx = slurp("keybox.kbx", &klen), *kwhy = NULL;
        ck_assert(!pgp_is_armored(kbx, klen));
        ck_assert_int_eq(pgp_keyring_fingerprints(kbx, klen, NULL, NULL, &kwhy), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(kwhy, "keybox"));
        /* ...but a key packet may carry a keybox's marker bytes (type 1 at offset 4, "KBXf" at 8): a
         * keyring that starts with a packet header is read as one (tests/fuzz/regressions/fuzz_pgp) */
        static const uint8_t lookalike[] = {0x99, 0, 9, 4, 1, 0, 0, 0, 'K', 'B', 'X', 'f'};
        _cleanup_strv_free_ char **lp = NULL;
        ck_assert_int_eq(pgp_keyring_fingerprints(lookalike, sizeof lookalike, &lp, NULL, NULL), 0);
        ck_assert_int_eq((int) strv_length(lp), 1);

        /* Secret keys have no place in an apt keyring. */
        _cleanup_free_ char *why = NULL, *why2 = NULL;
        ck_assert_int_eq(pgp_keyring_fingerprints(secret, slen, NULL, NULL, &why), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(why, "secret"));
        ck_assert_int_eq(pgp_keyring_fingerprints(secret_asc, aslen, NULL, NULL, &why2), -EBADMSG);
}
END_TEST

Suite *pgp_suite(void) {
        Suite *s = suite_create("pgp");
        TCase *tc = tcase_create("keyrings");

        /* gpg runs once for the whole test case: key generation is the slow part */
        tcase_add_unchecked_fixture(tc, pgp_setup, pgp_teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_binary_keys);
        tcase_add_test(tc, test_armored_keys);
        tcase_add_test(tc, test_two_keys);
        tcase_add_test(tc, test_concatenated_armor);
        tcase_add_test(tc, test_dearmor);
        tcase_add_test(tc, test_crc);
        tcase_add_test(tc, test_truncated);
        tcase_add_test(tc, test_header_forms);
        tcase_add_test(tc, test_rfc9580_samples);
        tcase_add_test(tc, test_has_fingerprint);
        tcase_add_test(tc, test_extract);
        tcase_add_test(tc, test_fingerprint_normalize);
        tcase_add_test(tc, test_refused);
        suite_add_tcase(s, tc);
        return s;
}
