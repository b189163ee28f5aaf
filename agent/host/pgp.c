#include "host/pgp.h"

#include <openssl/evp.h>
#include <stdint.h>

#define ARMOR_BEGIN "-----BEGIN PGP PUBLIC KEY BLOCK-----"
#define ARMOR_END "-----END PGP PUBLIC KEY BLOCK-----"
#define ARMOR_ANY "-----BEGIN PGP "

enum {
        TAG_SECRET_KEY = 5,
        TAG_PUBLIC_KEY = 6,
        TAG_SECRET_SUBKEY = 7,
        TAG_PUBLIC_SUBKEY = 14,
};

static int fail(char **ret_why, int r, const char *fmt, ...) _printf_(3, 4);
static int fail(char **ret_why, int r, const char *fmt, ...) {
        if (ret_why) {
                va_list ap;
                va_start(ap, fmt);
                *ret_why = xvasprintf(fmt, ap);
                va_end(ap);
        }
        return r;
}

static bool is_hex(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int pgp_fingerprint_normalize(const char *s, char **ret) {
        char buf[65];
        size_t n = 0;

        if (!s)
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (*p == ' ' || *p == '\t')
                        continue;
                if (!is_hex(*p) || n >= 64)
                        return -EINVAL;
                buf[n++] = (char) (*p >= 'a' ? *p - 'a' + 'A' : *p);
        }
        if (n != 40 && n != 64)
                return -EINVAL;
        buf[n] = 0;
        *ret = xstrdup(buf);
        return 0;
}

/* ---- keys ---- */

static char *hex_upper(const unsigned char *md, size_t n) {
        char *s = xmalloc(2 * n + 1);
        for (size_t i = 0; i < n; i++)
                snprintf(s + 2 * i, 3, "%02X", md[i]);
        return s;
}

/* RFC 4880 12.2 (v4: SHA-1 over 0x99, 2-byte length, body); RFC 9580 5.5.4 (v6: SHA-256 over 0x9B,
 * 4-byte length, body; v5 drafts: the same with 0x9A). NULL for versions without a fingerprint we
 * compute. */
static char *key_fingerprint(const uint8_t *body, size_t len) {
        unsigned char prefix[5], md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;
        size_t plen;
        const EVP_MD *alg;

        switch (body[0]) {
        case 4:
                prefix[0] = 0x99;
                prefix[1] = (unsigned char) (len >> 8);
                prefix[2] = (unsigned char) len;
                plen = 3;
                alg = EVP_sha1();
                break;
        case 5:
        case 6:
                prefix[0] = body[0] == 5 ? 0x9A : 0x9B;
                prefix[1] = (unsigned char) (len >> 24);
                prefix[2] = (unsigned char) (len >> 16);
                prefix[3] = (unsigned char) (len >> 8);
                prefix[4] = (unsigned char) len;
                plen = 5;
                alg = EVP_sha256();
                break;
        default:
                return NULL;
        }

        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        if (!ctx || EVP_DigestInit_ex(ctx, alg, NULL) != 1 || EVP_DigestUpdate(ctx, prefix, plen) != 1 ||
            EVP_DigestUpdate(ctx, body, len) != 1 || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
                abort();
        EVP_MD_CTX_free(ctx);
        return hex_upper(md, mdlen);
}

static bool strv_contains(char *const *l, const char *s) {
        for (size_t i = 0; l && l[i]; i++)
                if (streq(l[i], s))
                        return true;
        return false;
}

typedef struct Keys {
        char **primary, **subkeys;
        size_t n_packets;
        const char *want; /* pgp_keyring_extract(): the primary key whose packets are copied */
        bool in_want;     /* the packets seen now belong to it */
} Keys;

static void keys_done(Keys *k) {
        k->primary = strv_free(k->primary);
        k->subkeys = strv_free(k->subkeys);
}

static int handle_packet(Keys *k, unsigned tag, const uint8_t *body, size_t len, size_t at, char **ret_why) {
        if (tag == 0)
                return fail(ret_why, -EBADMSG, "packet at byte %zu has the reserved tag 0", at);
        if (tag == TAG_SECRET_KEY || tag == TAG_SECRET_SUBKEY)
                return fail(ret_why, -EBADMSG, "packet at byte %zu is secret key material, not a public key", at);
        if (tag != TAG_PUBLIC_KEY && tag != TAG_PUBLIC_SUBKEY)
                return 0; /* user IDs, signatures, trust packets... */

        if (len < 1)
                return fail(ret_why, -EBADMSG, "key packet at byte %zu is empty", at);
        if (body[0] >= 4 && body[0] <= 6 && len < 6) /* version, creation time, algorithm */
                return fail(ret_why, -EBADMSG, "key packet at byte %zu is too short (%zu bytes)", at, len);
        if (body[0] == 4 && len > 0xffff)
                return fail(ret_why, -EBADMSG, "v4 key packet at byte %zu is too long (%zu bytes)", at, len);
        if (tag == TAG_PUBLIC_SUBKEY && !k->primary)
                return fail(ret_why, -EBADMSG, "subkey at byte %zu comes before any primary key", at);

        char *fpr = key_fingerprint(body, len);
        if (!fpr) {
                /* v2/v3 (MD5 fingerprints, long obsolete) or unknown: keep the place of a primary key so
                 * that its subkeys are not taken for orphans, but list nothing. */
                if (tag == TAG_PUBLIC_KEY && !k->primary)
                        k->primary = xcalloc(1, sizeof(char *));
                if (tag == TAG_PUBLIC_KEY)
                        k->in_want = false;
                return 0;
        }
        if (tag == TAG_PUBLIC_KEY)
                k->in_want = k->want && streq(fpr, k->want);
        char ***l = tag == TAG_PUBLIC_KEY ? &k->primary : &k->subkeys;
        if (strv_contains(*l, fpr))
                free(fpr);
        else
                strv_push(l, fpr);
        return 0;
}

static uint32_t be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/* RFC 9580 4.2: walks the packets, old and new format, one-, two-, five-octet and partial body
 * lengths. Anything that runs past the end is -EBADMSG. */
static int parse_packets(const uint8_t *p, size_t len, Keys *k, Buf *extract, char **ret_why) {
        size_t off = 0;
        int r;

        if (len == 0)
                return fail(ret_why, -EBADMSG, "empty keyring");

        while (off < len) {
                size_t at = off;
                uint8_t ctb = p[off++];
                unsigned tag;
                const uint8_t *body;
                size_t body_len;
                Buf gathered = {0};

                if (!(ctb & 0x80))
                        return fail(ret_why, -EBADMSG, "byte %zu (0x%02x) is not an OpenPGP packet header", at, ctb);

                if (ctb & 0x40) {
                        /* new format */
                        bool partial;
                        tag = ctb & 0x3f;
                        body = NULL;
                        body_len = 0;
                        do {
                                size_t chunk;
                                partial = false;
                                if (off >= len)
                                        goto truncated;
                                uint8_t o1 = p[off++];
                                if (o1 < 192)
                                        chunk = o1;
                                else if (o1 < 224) {
                                        if (off >= len)
                                                goto truncated;
                                        chunk = ((size_t) (o1 - 192) << 8) + p[off++] + 192;
                                } else if (o1 == 255) {
                                        if (len - off < 4)
                                                goto truncated;
                                        chunk = be32(p + off);
                                        off += 4;
                                } else {
                                        chunk = (size_t) 1 << (o1 & 0x1f);
                                        partial = true;
                                }
                                if (chunk > len - off)
                                        goto truncated;
                                if (!partial && !gathered.data) {
                                        body = p + off; /* the usual case: one piece, no copy */
                                        body_len = chunk;
                                } else {
                                        buf_append(&gathered, (const char *) p + off, chunk);
                                        if (!partial) {
                                                body = (const uint8_t *) gathered.data;
                                                body_len = gathered.len;
                                        }
                                }
                                off += chunk;
                        } while (partial);
                } else {
                        /* old format */
                        unsigned lt = ctb & 3;
                        tag = (ctb >> 2) & 0xf;
                        if (lt == 3)
                                body_len = len - off; /* indeterminate: up to the end */
                        else {
                                size_t nb = (size_t) 1 << lt;
                                if (len - off < nb)
                                        goto truncated;
                                body_len = lt == 0   ? p[off]
                                           : lt == 1 ? ((size_t) p[off] << 8 | p[off + 1])
                                                     : be32(p + off);
                                off += nb;
                                if (body_len > len - off)
                                        goto truncated;
                        }
                        body = p + off;
                        off += body_len;
                }

                k->n_packets++;
                r = handle_packet(k, tag, body, body_len, at, ret_why);
                buf_done(&gathered);
                if (r < 0)
                        return r;
                if (extract && k->in_want)
                        buf_append(extract, (const char *) p + at, off - at);
                continue;

        truncated:
                buf_done(&gathered);
                return fail(ret_why, -EBADMSG, "packet at byte %zu is truncated (keyring of %zu bytes)", at, len);
        }

        if (strv_length(k->primary) == 0)
                return fail(ret_why, -EBADMSG, "no version 4 or later public key in the keyring");
        return 0;
}

/* ---- armor ---- */

static uint32_t crc24(const uint8_t *p, size_t n) {
        uint32_t crc = 0xB704CEu;
        for (size_t i = 0; i < n; i++) {
                crc ^= (uint32_t) p[i] << 16;
                for (int j = 0; j < 8; j++) {
                        crc <<= 1;
                        if (crc & 0x1000000u)
                                crc ^= 0x1864CFBu;
                }
        }
        return crc & 0xFFFFFFu;
}

static int b64_value(char c) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+')
                return 62;
        if (c == '/')
                return 63;
        return -1;
}

/* Strict base64: whole quads, '=' only as padding of the last one. */
static int base64_decode(const char *s, size_t n, Buf *out) {
        if (n % 4 != 0)
                return -EBADMSG;
        for (size_t i = 0; i < n; i += 4) {
                bool last = i + 4 == n;
                int v[4];
                size_t pad = 0;
                for (size_t j = 0; j < 4; j++) {
                        if (s[i + j] == '=' && last && j >= 2) {
                                v[j] = 0;
                                pad++;
                                continue;
                        }
                        if (pad > 0)
                                return -EBADMSG;
                        v[j] = b64_value(s[i + j]);
                        if (v[j] < 0)
                                return -EBADMSG;
                }
                uint32_t x = (uint32_t) v[0] << 18 | (uint32_t) v[1] << 12 | (uint32_t) v[2] << 6 | (uint32_t) v[3];
                char b[3] = { (char) (x >> 16), (char) (x >> 8), (char) x };
                buf_append(out, b, 3 - pad);
        }
        return 0;
}

typedef enum ArmorState {
        ARMOR_OUTSIDE,
        ARMOR_HEADERS,
        ARMOR_BODY,
        ARMOR_AFTER_CRC,
} ArmorState;

/* Decodes every public key block of an armored text into out. */
static int armor_decode(const char *text, size_t len, Buf *out, char **ret_why) {
        _cleanup_(buf_done) Buf b64 = {0};
        ArmorState state = ARMOR_OUTSIDE;
        unsigned blocks = 0, line_no = 0;
        long crc = -1;
        int r;

        for (size_t off = 0; off < len;) {
                const char *line = text + off;
                const char *nl = memchr(line, '\n', len - off);
                size_t n = nl ? (size_t) (nl - line) : len - off;
                off += n + (nl ? 1 : 0);
                line_no++;
                while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
                        n--;
                if (memchr(line, 0, n))
                        return fail(ret_why, -EBADMSG, "armor line %u contains a NUL byte", line_no);

#define LINE_IS(s) (n == strlen(s) && memcmp(line, s, n) == 0)
                switch (state) {
                case ARMOR_OUTSIDE:
                        if (LINE_IS(ARMOR_BEGIN)) {
                                state = ARMOR_HEADERS;
                                b64.len = 0;
                                crc = -1;
                        } else if (n >= strlen(ARMOR_ANY) && memcmp(line, ARMOR_ANY, strlen(ARMOR_ANY)) == 0)
                                return fail(ret_why, -EBADMSG, "armor line %u: \"%.*s\" is not a public key block",
                                            line_no, (int) n, line);
                        continue;

                case ARMOR_HEADERS:
                        if (n == 0) {
                                state = ARMOR_BODY;
                                continue;
                        }
                        if (memchr(line, ':', n))
                                continue; /* "Comment: ...", "Version: ..." */
                        state = ARMOR_BODY; /* no blank line after the BEGIN line: be lenient */
                        break;

                case ARMOR_BODY:
                case ARMOR_AFTER_CRC:
                        break;
                }

                if (LINE_IS(ARMOR_END)) {
                        size_t start = out->len;
                        if (b64.len == 0)
                                return fail(ret_why, -EBADMSG, "armor line %u: empty armor block", line_no);
                        if (base64_decode(b64.data, b64.len, out) < 0)
                                return fail(ret_why, -EBADMSG, "armor block ending at line %u: invalid base64",
                                            line_no);
                        if (crc >= 0 && (uint32_t) crc != crc24((const uint8_t *) out->data + start, out->len - start))
                                return fail(ret_why, -EBADMSG,
                                            "armor block ending at line %u: CRC-24 mismatch (corrupted key)", line_no);
                        blocks++;
                        state = ARMOR_OUTSIDE;
                        continue;
                }
                if (state == ARMOR_AFTER_CRC)
                        return fail(ret_why, -EBADMSG, "armor line %u: expected the END line after the checksum",
                                    line_no);
                if (n == 0)
                        continue;
                if (n == 5 && line[0] == '=' && line[1] != '=') {
                        _cleanup_(buf_done) Buf c = {0};
                        r = base64_decode(line + 1, 4, &c);
                        if (r < 0 || c.len != 3)
                                return fail(ret_why, -EBADMSG, "armor line %u: invalid checksum line", line_no);
                        crc = (long) ((uint32_t) (uint8_t) c.data[0] << 16 | (uint32_t) (uint8_t) c.data[1] << 8 |
                                      (uint8_t) c.data[2]);
                        state = ARMOR_AFTER_CRC;
                        continue;
                }
                for (size_t i = 0; i < n; i++)
                        if (b64_value(line[i]) < 0 && line[i] != '=')
                                return fail(ret_why, -EBADMSG, "armor line %u: invalid base64 character 0x%02x",
                                            line_no, (unsigned char) line[i]);
                buf_append(&b64, line, n);
#undef LINE_IS
        }

        if (state != ARMOR_OUTSIDE)
                return fail(ret_why, -EBADMSG, "armor block without its END line");
        if (blocks == 0)
                return fail(ret_why, -EBADMSG, "no \"" ARMOR_BEGIN "\" block");
        return 0;
}

/* GnuPG's own keyring format (pubring.kbx, or a --keyring file gpg created): a first blob of type 1
 * with "KBXf" at offset 8. gpgv reads it, we do not. */
static bool is_keybox(const void *data, size_t len) {
        const uint8_t *p = data;
        return len >= 12 && p[4] == 1 && memcmp(p + 8, "KBXf", 4) == 0;
}

bool pgp_is_armored(const void *data, size_t len) {
        const uint8_t *p = data;
        if (is_keybox(data, len))
                return false;
        if (len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
                return true; /* a UTF-8 byte order mark: text */
        return len > 0 && !(p[0] & 0x80); /* every binary packet starts with bit 7 set */
}

/* Binary keyring in *ret (pointing into data when it was binary already, else into *gathered). */
static int to_binary(const void *data, size_t len, Buf *gathered, const uint8_t **ret, size_t *ret_len,
                     char **ret_why) {
        int r;

        if (len > PGP_KEYRING_MAX)
                return fail(ret_why, -EFBIG, "keyring larger than %u bytes", PGP_KEYRING_MAX);
        if (is_keybox(data, len))
                return fail(ret_why, -EBADMSG,
                            "a GnuPG keybox file, not an OpenPGP keyring (export the key with gpg --export)");
        if (!pgp_is_armored(data, len)) {
                *ret = data;
                *ret_len = len;
                return 0;
        }
        r = armor_decode(data, len, gathered, ret_why);
        if (r < 0)
                return r;
        *ret = (const uint8_t *) gathered->data;
        *ret_len = gathered->len;
        return 0;
}

int pgp_keyring_fingerprints(const void *data, size_t len, char ***ret_primary, char ***ret_subkeys,
                             char **ret_why) {
        _cleanup_(buf_done) Buf bin = {0};
        _cleanup_(keys_done) Keys k = {0};
        const uint8_t *p = NULL;
        size_t n = 0;
        int r;

        r = to_binary(data, len, &bin, &p, &n, ret_why);
        if (r < 0)
                return r;
        r = parse_packets(p, n, &k, NULL, ret_why);
        if (r < 0)
                return r;
        if (ret_primary)
                *ret_primary = TAKE_PTR(k.primary);
        if (ret_subkeys)
                *ret_subkeys = k.subkeys ? TAKE_PTR(k.subkeys) : xcalloc(1, sizeof(char *));
        return 0;
}

int pgp_keyring_has_fingerprint(const void *data, size_t len, const char *fingerprint) {
        _cleanup_free_ char *want = NULL;
        _cleanup_strv_free_ char **primary = NULL;
        int r;

        r = pgp_fingerprint_normalize(fingerprint, &want);
        if (r < 0)
                return r;
        r = pgp_keyring_fingerprints(data, len, &primary, NULL, NULL);
        if (r < 0)
                return r;
        return strv_contains(primary, want);
}

int pgp_dearmor(const void *data, size_t len, void **ret, size_t *ret_len, char **ret_why) {
        _cleanup_(buf_done) Buf bin = {0};
        _cleanup_(keys_done) Keys k = {0};
        const uint8_t *p = NULL;
        size_t n = 0;
        int r;

        r = to_binary(data, len, &bin, &p, &n, ret_why);
        if (r < 0)
                return r;
        r = parse_packets(p, n, &k, NULL, ret_why);
        if (r < 0)
                return r;
        void *copy = xmalloc(n);
        if (n > 0) /* always: a keyring has a key */
                memcpy(copy, p, n);
        *ret = copy;
        *ret_len = n;
        return 0;
}

bool pgp_keyring_file_has(const char *path, const char *fingerprint) {
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        if (read_file(path, PGP_KEYRING_MAX, &data, &len) < 0)
                return false;
        return pgp_keyring_has_fingerprint(data, len, fingerprint) == 1;
}

int pgp_keyring_extract(const void *data, size_t len, const char *fingerprint, void **ret, size_t *ret_len,
                        char **ret_why) {
        _cleanup_(buf_done) Buf bin = {0}, out = {0};
        _cleanup_(keys_done) Keys k = {0};
        _cleanup_free_ char *want = NULL;
        const uint8_t *p = NULL;
        size_t n = 0;
        int r;

        if (pgp_fingerprint_normalize(fingerprint, &want) < 0)
                return fail(ret_why, -EINVAL, "'%s' is not a fingerprint", fingerprint);
        r = to_binary(data, len, &bin, &p, &n, ret_why);
        if (r < 0)
                return r;
        k.want = want;
        r = parse_packets(p, n, &k, &out, ret_why);
        if (r < 0)
                return r;
        if (out.len == 0)
                return fail(ret_why, -ENOENT, "no primary key %s in the keyring", want);
        *ret_len = out.len;
        *ret = buf_steal(&out);
        return 0;
}
