/* JSON in and out, the same way in every reader and writer (json-c underneath).
 *
 * Out: every string goes through json_str(), which makes it valid UTF-8 (each byte of an invalid
 * sequence becomes U+FFFD) and lets json-c escape the control characters, so what gpubase writes is
 * JSON any strict decoder accepts, whatever bytes a command printed.
 * In: json_parse() reads one document, nested up to JSON_MAX_DEPTH levels (json-c's default, 32, is
 * less than real files use), with nothing after it but white space; an empty or cut-off text is
 * said to be so. Functions return 0 or -errno and write *reterr only on failure (base/error.h). */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#define JSON_MAX_DEPTH 1000

/* Is s (len bytes) valid UTF-8: shortest forms only, no surrogates, nothing above U+10FFFF? */
bool utf8_valid(const char *s, size_t len);
/* A NUL-terminated copy of s (len bytes) in valid UTF-8: every byte that does not start a valid
 * sequence becomes U+FFFD; a NUL byte too. */
char *utf8_sanitize(const char *s, size_t len);
/* The tail of s kept within max bytes, at a character boundary: "…" and the last bytes; s itself
 * (a copy) when it fits. */
char *utf8_cut(const char *s, size_t max);

/* A JSON string of s, sanitised; JSON null for NULL. */
json_object *json_str(const char *s);
/* o as text (pretty: indented, for files people read), a copy the caller frees. */
char *json_text(json_object *o, bool pretty);
/* One JSON document of any type; -EBADMSG with *reterr ("it is empty", "it ends early at byte N
 * (cut off?)", "not valid JSON at byte N: WHY"). */
int json_parse(const char *text, size_t len, json_object **ret, char **reterr);
