#include "plan/schema.h"

#include <ctype.h>
#include <string.h>

#include "base/path.h"
#include "base/suggest.h"

int schema_keys(ParseCtx *pc, const YNode *map, const char *what, const char *const *allowed) {
        for (size_t i = 0; i < map->n; i++) {
                const YNode *k = map->pairs[i].key;
                bool ok = false;
                for (size_t j = 0; allowed[j]; j++)
                        if (streq(allowed[j], k->value)) {
                                ok = true;
                                break;
                        }
                if (ok)
                        continue;
                _cleanup_free_ char *list = strv_join((char *const *) allowed, ", ");
                _cleanup_free_ char *hint = did_you_mean(k->value, allowed);
                src_error_set(pc->err, pc->file, k, "unknown key '%s' in %s%s; expected one of: %s", k->value, what,
                              hint, list);
                return -EINVAL;
        }
        return 0;
}

int schema_map(ParseCtx *pc, const YNode *n, const char *what) {
        if (n->type != YNODE_MAP) {
                src_error_set(pc->err, pc->file, n, "%s must be a map, found a %s", what, ynode_type_name(n));
                return -EINVAL;
        }
        return 0;
}

int schema_require(ParseCtx *pc, const YNode *map, const char *key, const char *what, const YNode **ret) {
        const YNode *v = ynode_get(map, key);
        if (!v) {
                src_error_set(pc->err, pc->file, map, "%s is missing required key '%s'", what, key);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

int schema_string(ParseCtx *pc, const YNode *n, const char *what, char **ret) {
        if (n->type != YNODE_SCALAR || ynode_is_null(n)) {
                src_error_set(pc->err, pc->file, n, "%s must be a string, found a %s", what, ynode_type_name(n));
                return -EINVAL;
        }
        *ret = xstrdup(n->value);
        return 0;
}

int schema_strv(ParseCtx *pc, const YNode *n, const char *what, bool allow_scalar, char ***ret) {
        char **l = NULL;
        if (allow_scalar && n->type == YNODE_SCALAR && !ynode_is_null(n)) {
                strv_push(&l, xstrdup(n->value));
                *ret = l;
                return 0;
        }
        if (n->type != YNODE_SEQ) {
                src_error_set(pc->err, pc->file, n, "%s must be a list of strings, found a %s", what,
                              ynode_type_name(n));
                return -EINVAL;
        }
        if (n->n == 0) {
                src_error_set(pc->err, pc->file, n, "%s must not be empty", what);
                return -EINVAL;
        }
        l = xcalloc(1, sizeof(char *));
        for (size_t i = 0; i < n->n; i++) {
                const YNode *e = n->items[i];
                if (e->type != YNODE_SCALAR || ynode_is_null(e)) {
                        src_error_set(pc->err, pc->file, e, "each entry of %s must be a string, found a %s", what,
                                      ynode_type_name(e));
                        strv_free(l);
                        return -EINVAL;
                }
                strv_push(&l, xstrdup(e->value));
        }
        *ret = l;
        return 0;
}

int schema_uint(ParseCtx *pc, const YNode *n, const char *what, unsigned min, unsigned max, unsigned *ret) {
        unsigned v;
        if (n->type != YNODE_SCALAR || parse_uint(n->value, &v) < 0) {
                src_error_set(pc->err, pc->file, n, "%s must be a whole number, found %s%s%s", what,
                              n->type == YNODE_SCALAR ? "'" : "a ", n->type == YNODE_SCALAR ? n->value : ynode_type_name(n),
                              n->type == YNODE_SCALAR ? "'" : "");
                return -EINVAL;
        }
        if (v < min || v > max) {
                src_error_set(pc->err, pc->file, n, "%s must be between %u and %u, found %u", what, min, max, v);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

int schema_bool(ParseCtx *pc, const YNode *n, const char *what, bool *ret) {
        if (n->type == YNODE_SCALAR) {
                const char *v = n->value;
                if (streq(v, "true") || streq(v, "True") || streq(v, "yes")) {
                        *ret = true;
                        return 0;
                }
                if (streq(v, "false") || streq(v, "False") || streq(v, "no")) {
                        *ret = false;
                        return 0;
                }
        }
        src_error_set(pc->err, pc->file, n, "%s must be true or false, found %s%s%s", what,
                      n->type == YNODE_SCALAR ? "'" : "a ", n->type == YNODE_SCALAR ? n->value : ynode_type_name(n),
                      n->type == YNODE_SCALAR ? "'" : "");
        return -EINVAL;
}

static bool env_name_ok(const char *s) {
        if (!*s || isdigit((unsigned char) *s))
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && *s != '_')
                        return false;
        return true;
}

int schema_env(ParseCtx *pc, const YNode *n, const char *what, char ***ret) {
        char **l = xcalloc(1, sizeof(char *));
        if (schema_map(pc, n, what) < 0) {
                strv_free(l);
                return -EINVAL;
        }
        for (size_t i = 0; i < n->n; i++) {
                const YNode *k = n->pairs[i].key, *v = n->pairs[i].value;
                if (!env_name_ok(k->value)) {
                        src_error_set(pc->err, pc->file, k,
                                      "'%s' is not a valid environment variable name in %s (letters, digits, _)",
                                      k->value, what);
                        strv_free(l);
                        return -EINVAL;
                }
                if (v->type != YNODE_SCALAR) {
                        src_error_set(pc->err, pc->file, v, "the value of %s in %s must be a string, found a %s",
                                      k->value, what, ynode_type_name(v));
                        strv_free(l);
                        return -EINVAL;
                }
                strv_push(&l, xasprintf("%s=%s", k->value, ynode_is_null(v) ? "" : v->value));
                if (pc->env_values && !ynode_is_null(v))
                        strv_push(pc->env_values, xstrdup(v->value));
        }
        *ret = l;
        return 0;
}

/* What is wrong with an absolute path that must name a file, or NULL: a ".." component (it could
 * climb anywhere), a "." component, or an end that names a directory ("/", "/etc/x/", "/etc/.",
 * "/etc/..") — a file step would replace the directory, a check would test it. */
static char *file_path_problem(const char *what, const char *s) {
        size_t len = strlen(s);
        const char *c;
        size_t n;
        bool dot = false, dotdot = false;
        for (const char *p = s; (n = path_next_component(&p, &c)) > 0;) {
                dot = dot || component_is_dot(c, n);
                dotdot = dotdot || component_is_dotdot(c, n);
        }
        if (dotdot)
                return xasprintf("%s must name a file without '..', found '%s'; write the file's path in full", what, s);
        if (streq(s, "/") || s[len - 1] == '/')
                return xasprintf("%s must name a file, found '%s', which names a directory (it ends in '/'); write the "
                                 "path of the file itself, e.g. '%sFILE'",
                                 what, s, s);
        if (len >= 2 && streq(s + len - 2, "/."))
                return xasprintf("%s must name a file, found '%s', which names a directory (it ends in '/.'); write the "
                                 "path of the file itself, e.g. '%.*s/FILE'",
                                 what, s, (int) (len - 2), s);
        if (dot)
                return xasprintf("%s must name a file without '.' components, found '%s'; write the file's path in full",
                                 what, s);
        return NULL;
}

int schema_abs_path(ParseCtx *pc, const YNode *n, const char *what, char **ret) {
        _cleanup_free_ char *s = NULL, *problem = NULL;
        if (schema_string(pc, n, what, &s) < 0)
                return -EINVAL;
        if (s[0] != '/') {
                src_error_set(pc->err, pc->file, n, "%s must be an absolute path, found '%s'", what, s);
                return -EINVAL;
        }
        problem = file_path_problem(what, s);
        if (problem) {
                src_error_set(pc->err, pc->file, n, "%s", problem);
                return -EINVAL;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

int schema_input_path(ParseCtx *pc, const YNode *n, const char *what, char **ret) {
        _cleanup_free_ char *s = NULL;
        if (n->type == YNODE_SCALAR && n->value && n->value[0] != '/') {
                if (schema_string(pc, n, what, &s) < 0)
                        return -EINVAL;
                if (!*s || s[strlen(s) - 1] == '/') {
                        src_error_set(pc->err, pc->file, n, "%s must name a file, found '%s'", what, s);
                        return -EINVAL;
                }
                *ret = TAKE_PTR(s);
                return 0;
        }
        return schema_abs_path(pc, n, what, ret);
}
