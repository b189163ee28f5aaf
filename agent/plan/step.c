/* Parsing one step of a plan, one table entry per part of it: the common keys (id, kind, when,
 * checks) here, the kind's own parameters by the kind (StepKind.parse). */
#include "plan/step.h"

#include <ctype.h>
#include <string.h>

#include "base/hash.h"
#include "base/suggest.h"
#include "plan/check_kind.h"
#include "plan/step_kind.h"
#include "plan/when_kind.h"

static const char *const step_common_keys[] = {"id", "kind", "checks", "when"};

static bool step_id_ok(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 64 || !(islower((unsigned char) s[0]) || isdigit((unsigned char) s[0])))
                return false;
        for (; *s; s++)
                if (!islower((unsigned char) *s) && !isdigit((unsigned char) *s) && *s != '-' && *s != '_' && *s != '.')
                        return false;
        return true;
}

static int parse_id(ParseCtx *pc, const Plan *p, const YNode *n, Step *s) {
        const YNode *v;
        if (schema_require(pc, n, "id", "a step", &v) < 0 || schema_string(pc, v, "a step's id", &s->id) < 0)
                return -EINVAL;
        if (!step_id_ok(s->id)) {
                src_error_set(pc->err, pc->file, v,
                              "step id '%s' must be 1-64 characters of a-z, 0-9, '-', '_', '.', starting with a letter or digit",
                              s->id);
                return -EINVAL;
        }
        for (size_t i = 0; i < p->n_steps; i++)
                if (streq(p->steps[i].id, s->id)) {
                        src_error_set(pc->err, pc->file, v, "duplicate step id '%s' (first used at line %u)", s->id,
                                      p->steps[i].line);
                        return -EINVAL;
                }
        return 0;
}

static int parse_kind(ParseCtx *pc, const Plan *p _unused_, const YNode *n, Step *s) {
        const YNode *v;
        _cleanup_free_ char *kind = NULL, *sname = xasprintf("step '%s'", s->id);
        if (schema_require(pc, n, "kind", sname, &v) < 0 || schema_string(pc, v, "a step's kind", &kind) < 0)
                return -EINVAL;
        s->kind = step_kind_find(kind);
        if (!s->kind) {
                _cleanup_free_ char *names = strv_join((char *const *) step_kind_names(), ", ");
                _cleanup_free_ char *hint = did_you_mean(kind, step_kind_names());
                src_error_set(pc->err, pc->file, v, "unknown step kind '%s'%s; known kinds: %s", kind, hint, names);
                return -EINVAL;
        }
        return 0;
}

/* the keys: the common ones plus the kind's own */
static int check_keys(ParseCtx *pc, const Plan *p _unused_, const YNode *n, Step *s) {
        _cleanup_free_ const char **allowed = NULL;
        size_t k = 0, nk = 0;
        while (s->kind->keys && s->kind->keys[nk])
                nk++;
        allowed = xcalloc(ELEMENTSOF(step_common_keys) + nk + 1, sizeof(char *));
        for (size_t i = 0; i < ELEMENTSOF(step_common_keys); i++)
                allowed[k++] = step_common_keys[i];
        for (size_t i = 0; i < nk; i++)
                allowed[k++] = s->kind->keys[i];
        _cleanup_free_ char *what = xasprintf("step '%s' (kind %s)", s->id, s->kind->name);
        return schema_keys(pc, n, what, allowed) < 0 ? -EINVAL : 0;
}

static int parse_when(ParseCtx *pc, const Plan *p _unused_, const YNode *n, Step *s) {
        const YNode *v = ynode_get(n, "when");
        _cleanup_free_ char *when = NULL;
        if (!v) {
                s->when = when_find(s->kind->default_when ? s->kind->default_when : "always");
                return 0;
        }
        if (schema_string(pc, v, "when", &when) < 0)
                return -EINVAL;
        s->when = when_find(when);
        if (!s->when) {
                _cleanup_free_ char *names = strv_join((char *const *) when_names(), ", ");
                _cleanup_free_ char *hint = did_you_mean(when, when_names());
                src_error_set(pc->err, pc->file, v, "unknown condition '%s' in when%s; known conditions: %s", when, hint,
                              names);
                return -EINVAL;
        }
        return 0;
}

static int parse_checks(ParseCtx *pc, const Plan *p _unused_, const YNode *n, Step *s) {
        const YNode *v = ynode_get(n, "checks");
        if (!v)
                return 0;
        if (v->type != YNODE_SEQ) {
                src_error_set(pc->err, pc->file, v, "checks must be a list of check names or {name: parameters}, found a %s",
                              ynode_type_name(v));
                return -EINVAL;
        }
        s->checks = xcalloc(v->n, sizeof(CheckSpec));
        for (size_t i = 0; i < v->n; i++) {
                int r = check_spec_parse(&s->checks[i], v->items[i], pc);
                s->n_checks = i + 1;
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_params(ParseCtx *pc, const Plan *p _unused_, const YNode *n, Step *s) {
        return s->kind->parse ? s->kind->parse(s, n, pc) : 0;
}

/* In this order: the kind is needed to know the allowed keys, the id to name the step in messages. */
static int (*const step_parsers[])(ParseCtx *pc, const Plan *p, const YNode *n, Step *s) = {
        parse_id, parse_kind, check_keys, parse_when, parse_checks, parse_params,
};

int step_parse(ParseCtx *pc, const Plan *p, const YNode *n, Step *s) {
        s->line = n->line;
        s->col = n->col;
        if (schema_map(pc, n, "a step") < 0)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(step_parsers); i++) {
                int r = step_parsers[i](pc, p, n, s);
                if (r < 0)
                        return r;
        }

        Buf b = {0};
        ynode_dump(n, &b);
        sha256_hex(b.data, b.len, s->digest);
        buf_done(&b);
        return 0;
}
