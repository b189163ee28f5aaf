#include "host/pgp.h"

#include <stdint.h>

#include "base/error.h"
#include "base/hash.h"

#define ARMOR_BEGIN "-----BEGIN PGP PUBLIC KEY BLOCK-----"
#define ARMOR_END "-----END PGP PUBLIC KEY BLOCK-----"
#define ARMOR_ANY "-----BEGIN PGP "

enum {
        TAG_SECRET_KEY = 5,
        TAG_PUBLIC_KEY = 6,
        TAG_SECRET_SUBKEY = 7,
        TAG_PUBLIC_SUBKEY = 14,
};

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

/* RFC 4880 12.2 (v4: SHA-1 over 0x99, 2-byte length, body); RFC 9580 5.5.4 (v6: SHA-256 over 0x9B,
 * 4-byte length, body; v5 drafts: the same with 0x9A). NULL for versions without a fingerprint we
 * compute. */
static char *key_fingerprint(const uint8_t *body, size_t len) {
        unsigned char prefix[5], md[32];
        size_t plen, mdlen;

        switch (body[0]) {
        case 4:
                prefix[0] = 0x99;
                prefix[1] = (unsigned char) (len >> 8);
                prefix[2] = (unsigned char) len;
                plen = 3;
                mdlen = 20;
                break;
        case 5:
        case 6:
                prefix[0] = body[0] == 5 ? 0x9A : 0x9B;
                prefix[1] = (unsigned char) (len >> 24);
                prefix[2] = (unsigned char) (len >> 16);
                prefix[3] = (unsigned char) (len >> 8);
                prefix[4] = (unsigned char) len;
                plen = 5;
                mdlen = 32;
                break;
        default:
                return NULL;
        }

        /* a few hundred bytes: hashed in memory (base/hash.c), not through libcrypto, which a probe
         * that only reads a key's fingerprint then does not load */
        _cleanup_free_ unsigned char *buf = xmalloc(plen + len);
        memcpy(buf, prefix, plen);
        memcpy(buf + plen, body, len);
        if (mdlen == 20)
                sha1_digest(buf, plen + len, md);
        else
                sha256_digest(buf, plen + len, md);
        char *hex = xmalloc(2 * mdlen + 1);
        hex_encode(md, mdlen, hex);
        for (char *c = hex; *c; c++) /* fingerprints are written in uppercase */
                *c = (char) (*c >= 'a' ? *c - 'a' + 'A' : *c);
        return hex;
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

static int handle_packet(Keys *k, unsigned tag, const uint8_t *body, size_t len, size_t at, char **reterr) {
        if (tag == 0)
                return errorf(reterr, -EBADMSG, "packet at byte %zu has the reserved tag 0", at);
        if (tag == TAG_SECRET_KEY || tag == TAG_SECRET_SUBKEY)
                return errorf(reterr, -EBADMSG, "packet at byte %zu is secret key material, not a public key", at);
        if (tag != TAG_PUBLIC_KEY && tag != TAG_PUBLIC_SUBKEY)
                return 0; /* user IDs, signatures, trust packets... */

        if (len < 1)
                return errorf(reterr, -EBADMSG, "key packet at byte %zu is empty", at);
        if (body[0] >= 4 && body[0] <= 6 && len < 6) /* version, creation time, algorithm */
                return errorf(reterr, -EBADMSG, "key packet at byte %zu is too short (%zu bytes)", at, len);
        if (body[0] == 4 && len > 0xffff)
                return errorf(reterr, -EBADMSG, "v4 key packet at byte %zu is too long (%zu bytes)", at, len);
        if (tag == TAG_PUBLIC_SUBKEY && !k->primary)
                return errorf(reterr, -EBADMSG, "subkey at byte %zu comes before any primary key", at);

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

/* RFC 9580 4.2.1: a new-format packet's body at *off (its header octet already read): one-, two-
 * and five-octet lengths, and partial body lengths whose pieces are gathered into *gathered.
 * -EBADMSG when it runs past the end. */
static int new_format_body(const uint8_t *p, size_t len, size_t *off, Buf *gathered, const uint8_t **ret_body,
                           size_t *ret_len) {
        bool partial;
        do {
                size_t chunk;
                partial = false;
                if (*off >= len)
                        return -EBADMSG;
                uint8_t o1 = p[(*off)++];
                if (o1 < 192)
                        chunk = o1;
                else if (o1 < 224) {
                        if (*off >= len)
                                return -EBADMSG;
                        chunk = ((size_t) (o1 - 192) << 8) + p[(*off)++] + 192;
                } else if (o1 == 255) {
                        if (len - *off < 4)
                                return -EBADMSG;
                        chunk = be32(p + *off);
                        *off += 4;
                } else {
                        chunk = (size_t) 1 << (o1 & 0x1f);
                        partial = true;
                }
                if (chunk > len - *off)
                        return -EBADMSG;
                if (!partial && !gathered->data) {
                        *ret_body = p + *off; /* the usual case: one piece, no copy */
                        *ret_len = chunk;
                } else {
                        buf_append(gathered, (const char *) p + *off, chunk);
                        if (!partial) {
                                *ret_body = (const uint8_t *) gathered->data;
                                *ret_len = gathered->len;
                        }
                }
                *off += chunk;
        } while (partial);
        return 0;
}

/* RFC 9580 4.2.2: an old-format packet's body at *off; length type 3 (indeterminate) runs up to
 * the end. -EBADMSG when it runs past the end. */
static int old_format_body(const uint8_t *p, size_t len, size_t *off, unsigned length_type, const uint8_t **ret_body,
                           size_t *ret_len) {
        size_t body_len;
        if (length_type == 3)
                body_len = len - *off;
        else {
                size_t nb = (size_t) 1 << length_type;
                if (len - *off < nb)
                        return -EBADMSG;
                body_len = length_type == 0   ? p[*off]
                           : length_type == 1 ? ((size_t) p[*off] << 8 | p[*off + 1])
                                              : be32(p + *off);
                *off += nb;
                if (body_len > len - *off)
                        return -EBADMSG;
        }
        *ret_body = p + *off;
        *ret_len = body_len;
        *off += body_len;
        return 0;
}

/* RFC 9580 4.2: walks the packets, old and new format. Anything that runs past the end is
 * -EBADMSG. */
/* With extract, the packets of k->want (pgp_keyring_extract) are copied there too. */
static int parse_packets(const uint8_t *p, size_t len, Keys *k, Buf *extract, char **reterr) {
        size_t off = 0;
        int r;

        if (len == 0)
                return errorf(reterr, -EBADMSG, "empty keyring");

        while (off < len) {
                size_t at = off;
                uint8_t ctb = p[off++];
                unsigned tag;
                const uint8_t *body = NULL;
                size_t body_len = 0;
                _cleanup_(buf_done) Buf gathered = {0};

                if (!(ctb & 0x80))
                        return errorf(reterr, -EBADMSG, "byte %zu (0x%02x) is not an OpenPGP packet header", at, ctb);
                if (ctb & 0x40) {
                        tag = ctb & 0x3f;
                        r = new_format_body(p, len, &off, &gathered, &body, &body_len);
                } else {
                        tag = (ctb >> 2) & 0xf;
                        r = old_format_body(p, len, &off, ctb & 3, &body, &body_len);
                }
                if (r < 0)
                        return errorf(reterr, r, "packet at byte %zu is truncated (keyring of %zu bytes)", at, len);

                k->n_packets++;
                r = handle_packet(k, tag, body, body_len, at, reterr);
                if (r < 0)
                        return r;
                if (extract && k->in_want)
                        buf_append(extract, (const char *) p + at, off - at);
        }

        if (strv_length(k->primary) == 0)
                return errorf(reterr, -EBADMSG, "no version 4 or later public key in the keyring");
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

typedef struct Armor {
        ArmorState state;
        Buf b64;        /* the current block's base64 text */
        long crc;       /* its "=XXXX" checksum, -1 when it has none */
        unsigned blocks, line_no;
} Armor;

static void armor_done(Armor *a) {
        buf_done(&a->b64);
}

/* The END line of a block: its base64 decoded into out, the checksum compared. */
static int armor_end_block(Armor *a, Buf *out, char **reterr) {
        size_t start = out->len;
        if (a->b64.len == 0)
                return errorf(reterr, -EBADMSG, "armor line %u: empty armor block", a->line_no);
        if (base64_decode(a->b64.data, a->b64.len, out) < 0)
                return errorf(reterr, -EBADMSG, "armor block ending at line %u: invalid base64", a->line_no);
        if (a->crc >= 0 && (uint32_t) a->crc != crc24((const uint8_t *) out->data + start, out->len - start))
                return errorf(reterr, -EBADMSG, "armor block ending at line %u: CRC-24 mismatch (corrupted key)",
                              a->line_no);
        a->blocks++;
        a->state = ARMOR_OUTSIDE;
        return 0;
}

/* A line of a block's body (after its headers), trailing blanks removed. */
static int armor_body_line(Armor *a, const char *line, size_t n, Buf *out, char **reterr) {
        int r;

        if (n == strlen(ARMOR_END) && memcmp(line, ARMOR_END, n) == 0)
                return armor_end_block(a, out, reterr);
        if (a->state == ARMOR_AFTER_CRC)
                return errorf(reterr, -EBADMSG, "armor line %u: expected the END line after the checksum", a->line_no);
        if (n == 0)
                return 0;
        if (n == 5 && line[0] == '=' && line[1] != '=') {
                _cleanup_(buf_done) Buf c = {0};
                r = base64_decode(line + 1, 4, &c);
                if (r < 0 || c.len != 3)
                        return errorf(reterr, -EBADMSG, "armor line %u: invalid checksum line", a->line_no);
                a->crc = (long) ((uint32_t) (uint8_t) c.data[0] << 16 | (uint32_t) (uint8_t) c.data[1] << 8 |
                                 (uint8_t) c.data[2]);
                a->state = ARMOR_AFTER_CRC;
                return 0;
        }
        for (size_t i = 0; i < n; i++)
                if (b64_value(line[i]) < 0 && line[i] != '=')
                        return errorf(reterr, -EBADMSG, "armor line %u: invalid base64 character 0x%02x", a->line_no,
                                      (unsigned char) line[i]);
        buf_append(&a->b64, line, n);
        return 0;
}

/* One line of the armored text, trailing blanks removed. */
static int armor_line(Armor *a, const char *line, size_t n, Buf *out, char **reterr) {
        if (memchr(line, 0, n))
                return errorf(reterr, -EBADMSG, "armor line %u contains a NUL byte", a->line_no);

        switch (a->state) {
        case ARMOR_OUTSIDE:
                if (n == strlen(ARMOR_BEGIN) && memcmp(line, ARMOR_BEGIN, n) == 0) {
                        a->state = ARMOR_HEADERS;
                        a->b64.len = 0;
                        a->crc = -1;
                } else if (n >= strlen(ARMOR_ANY) && memcmp(line, ARMOR_ANY, strlen(ARMOR_ANY)) == 0)
                        return errorf(reterr, -EBADMSG, "armor line %u: \"%.*s\" is not a public key block",
                                      a->line_no, (int) n, line);
                return 0;

        case ARMOR_HEADERS:
                if (n == 0) {
                        a->state = ARMOR_BODY;
                        return 0;
                }
                if (memchr(line, ':', n))
                        return 0; /* "Comment: ...", "Version: ..." */
                a->state = ARMOR_BODY; /* no blank line after the BEGIN line: be lenient */
                break;

        case ARMOR_BODY:
        case ARMOR_AFTER_CRC:
                break;
        }
        return armor_body_line(a, line, n, out, reterr);
}

/* Decodes every public key block of an armored text into out. */
static int armor_decode(const char *text, size_t len, Buf *out, char **reterr) {
        _cleanup_(armor_done) Armor a = {.state = ARMOR_OUTSIDE, .crc = -1};
        int r;

        for (size_t off = 0; off < len;) {
                const char *line = text + off;
                const char *nl = memchr(line, '\n', len - off);
                size_t n = nl ? (size_t) (nl - line) : len - off;
                off += n + (nl ? 1 : 0);
                a.line_no++;
                while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
                        n--;
                r = armor_line(&a, line, n, out, reterr);
                if (r < 0)
                        return r;
        }

        if (a.state != ARMOR_OUTSIDE)
                return errorf(reterr, -EBADMSG, "armor block without its END line");
        if (a.blocks == 0)
                return errorf(reterr, -EBADMSG, "no \"" ARMOR_BEGIN "\" block");
        return 0;
}

/* GnuPG's own keyring format (pubring.kbx, or a --keyring file gpg created): a first blob of type 1
 * with "KBXf" at offset 8, after the blob's 4-byte length (32: its first byte is 0). gpgv reads it,
 * we do not. Input whose first byte is a packet header is packets, whatever follows: a key packet
 * can hold those bytes too, and its armor would decode to a keyring read back as a keybox. */
static bool is_keybox(const void *data, size_t len) {
        const uint8_t *p = data;
        return len >= 12 && !(p[0] & 0x80) && p[4] == 1 && memcmp(p + 8, "KBXf", 4) == 0;
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
                     char **reterr) {
        int r;

        if (len > PGP_KEYRING_MAX)
                return errorf(reterr, -EFBIG, "keyring larger than %u bytes", PGP_KEYRING_MAX);
        if (is_keybox(data, len))
                return errorf(reterr, -EBADMSG,
                              "a GnuPG keybox file, not an OpenPGP keyring (export the key with gpg --export)");
        if (!pgp_is_armored(data, len)) {
                *ret = data;
                *ret_len = len;
                return 0;
        }
        r = armor_decode(data, len, gathered, reterr);
        if (r < 0)
                return r;
        *ret = (const uint8_t *) gathered->data;
        *ret_len = gathered->len;
        return 0;
}

/* The keyring in binary (in *ret, pointing into data or into *gathered) with its keys parsed
 * into k. */
static int read_keyring(const void *data, size_t len, Buf *gathered, Keys *k, const uint8_t **ret, size_t *ret_len,
                        char **reterr) {
        const uint8_t *p = NULL;
        size_t n = 0;
        int r;

        r = to_binary(data, len, gathered, &p, &n, reterr);
        if (r < 0)
                return r;
        r = parse_packets(p, n, k, NULL, reterr);
        if (r < 0)
                return r;
        *ret = p;
        *ret_len = n;
        return 0;
}

int pgp_keyring_fingerprints(const void *data, size_t len, char ***ret_primary, char ***ret_subkeys,
                             char **reterr) {
        _cleanup_(buf_done) Buf bin = {0};
        _cleanup_(keys_done) Keys k = {0};
        const uint8_t *p = NULL;
        size_t n = 0;
        int r;

        r = read_keyring(data, len, &bin, &k, &p, &n, reterr);
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

int pgp_dearmor(const void *data, size_t len, void **ret, size_t *ret_len, char **reterr) {
        _cleanup_(buf_done) Buf bin = {0};
        _cleanup_(keys_done) Keys k = {0};
        const uint8_t *p = NULL;
        size_t n = 0;
        int r;

        r = read_keyring(data, len, &bin, &k, &p, &n, reterr);
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
                        char **reterr) {
        _cleanup_(buf_done) Buf bin = {0}, out = {0};
        _cleanup_(keys_done) Keys k = {0};
        _cleanup_free_ char *want = NULL;
        const uint8_t *p = NULL;
        size_t n = 0;
        int r;

        if (pgp_fingerprint_normalize(fingerprint, &want) < 0)
                return errorf(reterr, -EINVAL, "'%s' is not a fingerprint", fingerprint);
        r = to_binary(data, len, &bin, &p, &n, reterr);
        if (r < 0)
                return r;
        k.want = want;
        r = parse_packets(p, n, &k, &out, reterr);
        if (r < 0)
                return r;
        if (out.len == 0)
                return errorf(reterr, -ENOENT, "no primary key %s in the keyring", want);
        *ret_len = out.len;
        *ret = buf_steal(&out);
        return 0;
}
