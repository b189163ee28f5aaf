#include "base/jsontext.h"

#include <string.h>

#include "base/error.h"
#include "base/util.h"

/* The length of the valid UTF-8 sequence at s (at most n bytes), 0 when there is none. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
        if (s[0] >= 0x01 && s[0] < 0x80)
                return 1;
        size_t len;
        unsigned cp;
        if (s[0] >= 0xc2 && s[0] <= 0xdf) {
                len = 2;
                cp = s[0] & 0x1f;
        } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
                len = 3;
                cp = s[0] & 0x0f;
        } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
                len = 4;
                cp = s[0] & 0x07;
        } else
                return 0; /* NUL, a continuation byte, 0xc0/0xc1 (overlong), 0xf5 and up */
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0; /* overlong, beyond Unicode, or a surrogate */
        return len;
}

bool utf8_valid(const char *s, size_t len) {
        const unsigned char *p = (const unsigned char *) s;
        for (size_t i = 0; i < len;) {
                size_t n = utf8_seq(p + i, len - i);
                if (n == 0)
                        return false;
                i += n;
        }
        return true;
}

char *utf8_sanitize(const char *s, size_t len) {
        const unsigned char *p = (const unsigned char *) s;
        Buf b = {0};
        for (size_t i = 0; i < len;) {
                size_t n = utf8_seq(p + i, len - i);
                if (n == 0) {
                        buf_puts(&b, "\xef\xbf\xbd"); /* U+FFFD */
                        i++;
                } else {
                        buf_append(&b, s + i, n);
                        i += n;
                }
        }
        return buf_steal(&b);
}

char *utf8_cut(const char *s, size_t max) {
        size_t len = strlen(s);
        if (len <= max)
                return xstrdup(s);
        static const char mark[] = "\xe2\x80\xa6"; /* … */
        size_t keep = max > sizeof mark - 1 ? max - (sizeof mark - 1) : 0;
        const char *from = s + len - keep;
        while (*from && ((unsigned char) *from & 0xc0) == 0x80) /* not into the middle of a character */
                from++;
        return xasprintf("%s%s", mark, from);
}

json_object *json_str(const char *s) {
        if (!s)
                return NULL;
        size_t len = strlen(s);
        if (utf8_valid(s, len))
                return json_object_new_string_len(s, (int) len);
        _cleanup_free_ char *clean = utf8_sanitize(s, len);
        return json_object_new_string(clean);
}

char *json_text(json_object *o, bool pretty) {
        int flags = (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN) |
                    JSON_C_TO_STRING_NOSLASHESCAPE;
        return xstrdup(json_object_to_json_string_ext(o, flags));
}

static bool all_space(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (s[i] != ' ' && s[i] != '\n' && s[i] != '\t' && s[i] != '\r')
                        return false;
        return true;
}

int json_parse(const char *text, size_t len, json_object **ret, char **reterr) {
        if (all_space(text, len))
                return errorf(reterr, -EBADMSG, "it is empty");
        if (len > (size_t) INT32_MAX)
                return errorf(reterr, -EFBIG, "it is too large to parse");
        json_tokener *tok = json_tokener_new_ex(JSON_MAX_DEPTH);
        json_object *o = json_tokener_parse_ex(tok, text, (int) len);
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        size_t end = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);

        if (jerr == json_tokener_continue) {
                json_object_put(o);
                return errorf(reterr, -EBADMSG, "it ends early at byte %zu, in the middle of the document (cut off by a "
                              "crash or a full disk?)",
                              len);
        }
        if (!o && jerr != json_tokener_success)
                return errorf(reterr, -EBADMSG, "not valid JSON at byte %zu: %s", end, json_tokener_error_desc(jerr));
        if (end < len && !all_space(text + end, len - end)) {
                json_object_put(o);
                return errorf(reterr, -EBADMSG, "not valid JSON at byte %zu: unexpected data after the document", end);
        }
        *ret = o;
        return 0;
}
