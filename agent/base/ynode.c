#include "base/ynode.h"

#include <string.h>
#include <yaml.h>

void src_error_set_at(SrcError *e, const char *file, unsigned line, unsigned col, const char *fmt, ...) {
        va_list ap;
        if (!e || e->msg) /* keep the first error */
                return;
        e->file = xstrdup(file);
        e->line = line;
        e->col = col;
        va_start(ap, fmt);
        e->msg = xvasprintf(fmt, ap);
        va_end(ap);
}

void src_error_set(SrcError *e, const char *file, const YNode *at, const char *fmt, ...) {
        va_list ap;
        if (!e || e->msg)
                return;
        e->file = xstrdup(file);
        e->line = at ? at->line : 0;
        e->col = at ? at->col : 0;
        va_start(ap, fmt);
        e->msg = xvasprintf(fmt, ap);
        va_end(ap);
}

void src_error_done(SrcError *e) {
        free(e->file);
        free(e->msg);
        *e = (SrcError){0};
}

char *src_error_format(const SrcError *e) {
        if (e->line > 0)
                return xasprintf("%s:%u:%u: %s", e->file ? e->file : "?", e->line, e->col, e->msg ? e->msg : "error");
        return xasprintf("%s: %s", e->file ? e->file : "?", e->msg ? e->msg : "error");
}

YNode *ynode_free(YNode *n) {
        if (!n)
                return NULL;
        free(n->value);
        for (size_t i = 0; n->items && i < n->n; i++)
                ynode_free(n->items[i]);
        for (size_t i = 0; n->pairs && i < n->n; i++) {
                ynode_free(n->pairs[i].key);
                ynode_free(n->pairs[i].value);
        }
        free(n->items);
        free(n->pairs);
        free(n);
        return NULL;
}

static YNode *ynode_new(YNodeType t, const yaml_mark_t *m) {
        YNode *n = xcalloc(1, sizeof *n);
        n->type = t;
        n->line = (unsigned) m->line + 1;
        n->col = (unsigned) m->column + 1;
        return n;
}

typedef struct Parser {
        yaml_parser_t p;
        size_t len;
        const char *file;
        SrcError *err;
} Parser;

static int next_event(Parser *ps, yaml_event_t *ev) {
        if (!yaml_parser_parse(&ps->p, ev)) {
                /* An unclosed quote or bracket is found at the end of the input; the place to show is
                 * where it was opened (the context mark). */
                const yaml_mark_t *m = &ps->p.problem_mark;
                if (ps->p.context && (ps->p.problem_mark.index >= ps->len || (!m->line && !m->column)))
                        m = &ps->p.context_mark;
                src_error_set_at(ps->err, ps->file, (unsigned) m->line + 1, (unsigned) m->column + 1,
                                 "invalid YAML: %s%s%s", ps->p.problem ? ps->p.problem : "syntax error",
                                 ps->p.context ? " " : "", ps->p.context ? ps->p.context : "");
                return -EINVAL;
        }
        return 0;
}

/* The next event, which the caller has no use for (stream start, document end). */
static int skip_event(Parser *ps) {
        yaml_event_t ev;
        int r = next_event(ps, &ev);
        if (r < 0)
                return r;
        yaml_event_delete(&ev);
        return 0;
}

static int parse_node(Parser *ps, yaml_event_t *ev, unsigned depth, YNode **ret);

static int refuse_anchor_tag(Parser *ps, const yaml_event_t *ev, const unsigned char *anchor,
                             const unsigned char *tag, bool implicit) {
        if (anchor) {
                src_error_set_at(ps->err, ps->file, (unsigned) ev->start_mark.line + 1,
                                 (unsigned) ev->start_mark.column + 1,
                                 "YAML anchors (&%s) are not supported in plans; write the value out", anchor);
                return -EINVAL;
        }
        if (tag && !implicit) {
                src_error_set_at(ps->err, ps->file, (unsigned) ev->start_mark.line + 1,
                                 (unsigned) ev->start_mark.column + 1,
                                 "YAML tags (%s) are not supported in plans; remove the tag", tag);
                return -EINVAL;
        }
        return 0;
}

static int parse_children(Parser *ps, YNode *n, unsigned depth) {
        for (;;) {
                yaml_event_t ev;
                YNode *child = NULL;
                int r = next_event(ps, &ev);
                if (r < 0)
                        return r;
                if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
                        yaml_event_delete(&ev);
                        return 0;
                }
                r = parse_node(ps, &ev, depth + 1, &child);
                yaml_event_delete(&ev);
                if (r < 0)
                        return r;
                if (n->type == YNODE_SEQ) {
                        n->items = xrealloc(n->items, (n->n + 1) * sizeof(YNode *));
                        n->items[n->n++] = child;
                        continue;
                }
                /* map: child is the key, then comes the value */
                if (child->type != YNODE_SCALAR) {
                        src_error_set(ps->err, ps->file, child, "a map key must be a plain string, not a %s",
                                      ynode_type_name(child));
                        ynode_free(child);
                        return -EINVAL;
                }
                for (size_t i = 0; i < n->n; i++)
                        if (streq(n->pairs[i].key->value, child->value)) {
                                src_error_set(ps->err, ps->file, child,
                                              "duplicate key '%s' (first at line %u)", child->value,
                                              n->pairs[i].key->line);
                                ynode_free(child);
                                return -EINVAL;
                        }
                YNode *value = NULL;
                r = next_event(ps, &ev);
                if (r < 0) {
                        ynode_free(child);
                        return r;
                }
                r = parse_node(ps, &ev, depth + 1, &value);
                yaml_event_delete(&ev);
                if (r < 0) {
                        ynode_free(child);
                        return r;
                }
                n->pairs = xrealloc(n->pairs, (n->n + 1) * sizeof(YPair));
                n->pairs[n->n++] = (YPair){child, value};
        }
}

static int parse_node(Parser *ps, yaml_event_t *ev, unsigned depth, YNode **ret) {
        YNode *n;
        int r;

        if (depth > YNODE_MAX_DEPTH) {
                src_error_set_at(ps->err, ps->file, (unsigned) ev->start_mark.line + 1,
                                 (unsigned) ev->start_mark.column + 1, "nesting deeper than %d levels",
                                 YNODE_MAX_DEPTH);
                return -EINVAL;
        }
        switch (ev->type) {
        case YAML_SCALAR_EVENT:
                r = refuse_anchor_tag(ps, ev, ev->data.scalar.anchor, ev->data.scalar.tag,
                                      ev->data.scalar.plain_implicit || ev->data.scalar.quoted_implicit);
                if (r < 0)
                        return r;
                n = ynode_new(YNODE_SCALAR, &ev->start_mark);
                n->value = xstrndup((const char *) ev->data.scalar.value, ev->data.scalar.length);
                if (strlen(n->value) != ev->data.scalar.length) {
                        src_error_set(ps->err, ps->file, n, "NUL byte inside a string");
                        ynode_free(n);
                        return -EINVAL;
                }
                n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
                *ret = n;
                return 0;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
                bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
                r = refuse_anchor_tag(ps, ev, seq ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor,
                                      seq ? ev->data.sequence_start.tag : ev->data.mapping_start.tag,
                                      seq ? ev->data.sequence_start.implicit : ev->data.mapping_start.implicit);
                if (r < 0)
                        return r;
                n = ynode_new(seq ? YNODE_SEQ : YNODE_MAP, &ev->start_mark);
                r = parse_children(ps, n, depth);
                if (r < 0) {
                        ynode_free(n);
                        return r;
                }
                *ret = n;
                return 0;
        }
        case YAML_ALIAS_EVENT:
                src_error_set_at(ps->err, ps->file, (unsigned) ev->start_mark.line + 1,
                                 (unsigned) ev->start_mark.column + 1,
                                 "YAML aliases (*%s) are not supported in plans; write the value out",
                                 ev->data.alias.anchor);
                return -EINVAL;
        default:
                src_error_set_at(ps->err, ps->file, (unsigned) ev->start_mark.line + 1,
                                 (unsigned) ev->start_mark.column + 1, "unexpected YAML event");
                return -EINVAL;
        }
}

int ynode_parse(const char *file, const char *text, size_t len, YNode **ret, SrcError *reterr) {
        Parser ps = {.file = file, .err = reterr, .len = len};
        yaml_event_t ev;
        YNode *root = NULL;
        int r;

        if (!yaml_parser_initialize(&ps.p))
                abort();
        yaml_parser_set_input_string(&ps.p, (const unsigned char *) text, len);
        yaml_parser_set_encoding(&ps.p, YAML_UTF8_ENCODING);

        /* stream start, document start */
        r = skip_event(&ps);
        if (r < 0)
                goto out;
        r = next_event(&ps, &ev);
        if (r < 0)
                goto out;
        if (ev.type == YAML_STREAM_END_EVENT) {
                yaml_event_delete(&ev);
                src_error_set_at(reterr, file, 1, 1, "the file is empty; expected a plan (a map with version, name and steps)");
                r = -EINVAL;
                goto out;
        }
        yaml_event_delete(&ev);
        r = next_event(&ps, &ev);
        if (r < 0)
                goto out;
        r = parse_node(&ps, &ev, 0, &root);
        yaml_event_delete(&ev);
        if (r < 0)
                goto out;
        /* document end, then stream end: a second document is refused */
        r = skip_event(&ps);
        if (r < 0)
                goto out;
        r = next_event(&ps, &ev);
        if (r < 0)
                goto out;
        if (ev.type != YAML_STREAM_END_EVENT) {
                src_error_set_at(reterr, file, (unsigned) ev.start_mark.line + 1, (unsigned) ev.start_mark.column + 1,
                                 "a plan is one YAML document; found a second one here");
                yaml_event_delete(&ev);
                r = -EINVAL;
                goto out;
        }
        yaml_event_delete(&ev);
        *ret = TAKE_PTR(root);
        r = 0;
out:
        ynode_free(root);
        yaml_parser_delete(&ps.p);
        return r;
}

const char *ynode_type_name(const YNode *n) {
        if (!n)
                return "nothing";
        switch (n->type) {
        case YNODE_SCALAR:
                return ynode_is_null(n) ? "null" : "string";
        case YNODE_MAP:
                return "map";
        case YNODE_SEQ:
                return "list";
        }
        return "?";
}

const YNode *ynode_get(const YNode *map, const char *key) {
        if (!map || map->type != YNODE_MAP)
                return NULL;
        for (size_t i = 0; i < map->n; i++)
                if (streq(map->pairs[i].key->value, key))
                        return map->pairs[i].value;
        return NULL;
}

bool ynode_is_null(const YNode *n) {
        return n && n->type == YNODE_SCALAR && n->plain &&
               (streq(n->value, "") || streq(n->value, "~") || streq(n->value, "null") || streq(n->value, "Null") ||
                streq(n->value, "NULL"));
}

static void dump_string(const char *s, Buf *b) {
        buf_puts(b, "\"");
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (*p == '"' || *p == '\\')
                        buf_printf(b, "\\%c", *p);
                else if (*p == '\n')
                        buf_puts(b, "\\n");
                else if (*p == '\t')
                        buf_puts(b, "\\t");
                else if (*p < 0x20)
                        buf_printf(b, "\\u%04x", *p);
                else
                        buf_append(b, (const char *) p, 1);
        }
        buf_puts(b, "\"");
}

void ynode_dump(const YNode *n, Buf *b) {
        if (!n) {
                buf_puts(b, "null");
                return;
        }
        switch (n->type) {
        case YNODE_SCALAR:
                if (ynode_is_null(n))
                        buf_puts(b, "null");
                else
                        dump_string(n->value, b);
                break;
        case YNODE_SEQ:
                buf_puts(b, "[");
                for (size_t i = 0; i < n->n; i++) {
                        if (i)
                                buf_puts(b, ", ");
                        ynode_dump(n->items[i], b);
                }
                buf_puts(b, "]");
                break;
        case YNODE_MAP:
                buf_puts(b, "{");
                for (size_t i = 0; i < n->n; i++) {
                        if (i)
                                buf_puts(b, ", ");
                        dump_string(n->pairs[i].key->value, b);
                        buf_puts(b, ": ");
                        ynode_dump(n->pairs[i].value, b);
                }
                buf_puts(b, "}");
                break;
        }
}
