#include "plan/plan.h"

#include <ctype.h>
#include <libgen.h>
#include <limits.h>
#include <string.h>

#include "base/hash.h"
#include "plan/check_kind.h"
#include "plan/step.h"
#include "plan/step_kind.h"
#include "plan/when_kind.h"
#include "plan/plan_sections.h"

static const char *const plan_keys[] = {"version", "name", "description", "match", "vars", "workloads", "watch", "expect",
                                        "steps", NULL};

static void var_done(Var *v) {
        free(v->name);
        free(v->value);
        free(v->unavailable);
}

void plan_intent_done(PlanIntent *i) {
        free(i->driver_glob);
        free(i->ctk_version);
        free(i->runtime);
        free(i->origin);
        free(i->nouveau_blacklist_step);
        free(i->nouveau_reboot_step);
        free(i->fabric_manager_pkg);
        free(i->expect_model);
        free(i->smoke_image);
        free(i->smoke_cuda);
        free(i->cdi_spec);
        *i = (PlanIntent){.driver_branch = -1, .driver_flavor = -1, .signing_route = -1};
}

Plan *plan_free(Plan *p) {
        if (!p)
                return NULL;
        plan_intent_done(&p->intent);
        strv_free(p->overrides);
        strv_free(p->env_values);
        free(p->path);
        free(p->name);
        free(p->description);
        strv_free(p->match_os);
        strv_free(p->match_arch);
        strv_free(p->workloads_cuda);
        for (size_t i = 0; i < p->n_vars; i++)
                var_done(&p->vars[i]);
        free(p->vars);
        for (size_t i = 0; i < p->n_steps; i++) {
                Step *s = &p->steps[i];
                free(s->id);
                if (s->kind && s->kind->free_params && s->params)
                        s->kind->free_params(s->params);
                for (size_t j = 0; j < s->n_checks; j++)
                        check_spec_done(&s->checks[j]);
                free(s->checks);
        }
        free(p->steps);
        free(p);
        return NULL;
}

static const Var *find_var(const Var *vars, size_t n, const char *name, size_t len) {
        for (size_t i = 0; i < n; i++)
                if (strlen(vars[i].name) == len && strncmp(vars[i].name, name, len) == 0)
                        return &vars[i];
        return NULL;
}

int expand_vars(const char *s, const Var *vars, size_t n_vars, char **ret, char **ret_bad) {
        Buf b = {0};
        for (const char *p = s; *p;) {
                if (p[0] == '$' && p[1] == '$') {
                        buf_puts(&b, "$");
                        p += 2;
                        continue;
                }
                if (p[0] == '$' && p[1] == '{') {
                        const char *end = strchr(p + 2, '}');
                        if (!end) {
                                buf_done(&b);
                                *ret_bad = xstrdup(p);
                                return -EBADMSG; /* unterminated */
                        }
                        const Var *v = find_var(vars, n_vars, p + 2, (size_t) (end - p - 2));
                        if (!v || v->unavailable) {
                                buf_done(&b);
                                *ret_bad = xstrndup(p + 2, (size_t) (end - p - 2));
                                return v ? -ENODATA : -ENOENT;
                        }
                        buf_puts(&b, v->value);
                        p = end + 1;
                        continue;
                }
                buf_append(&b, p, 1);
                p++;
        }
        *ret = buf_steal(&b);
        return 0;
}

static char *var_names(const Var *vars, size_t n) {
        Buf b = {0};
        for (size_t i = 0; i < n; i++)
                buf_printf(&b, "%s%s", i ? ", " : "", vars[i].name);
        return buf_steal(&b);
}

static int expand_scalar(ParseCtx *pc, YNode *n, const Var *vars, size_t n_vars) {
        _cleanup_free_ char *out = NULL, *bad = NULL;
        int r;

        if (!strchr(n->value, '$'))
                return 0;
        r = expand_vars(n->value, vars, n_vars, &out, &bad);
        if (r == -EBADMSG) {
                src_error_set(pc->err, pc->file, n, "unterminated variable reference '%s' (write ${name}, or $$ for a literal $)", bad);
                return -EINVAL;
        }
        if (r == -ENODATA) {
                const Var *v = find_var(vars, n_vars, bad, strlen(bad));
                src_error_set(pc->err, pc->file, n, "variable ${%s} is not available on this host: %s", bad,
                              v ? v->unavailable : "unknown");
                return -EINVAL;
        }
        if (r < 0) {
                _cleanup_free_ char *names = var_names(vars, n_vars);
                src_error_set(pc->err, pc->file, n, "unknown variable ${%s}; known variables: %s", bad, names);
                return -EINVAL;
        }
        free(n->value);
        n->value = TAKE_PTR(out);
        return 0;
}

static int expand_tree(ParseCtx *pc, YNode *n, const Var *vars, size_t n_vars) {
        switch (n->type) {
        case YNODE_SCALAR:
                return expand_scalar(pc, n, vars, n_vars);
        case YNODE_SEQ:
                for (size_t i = 0; i < n->n; i++)
                        if (expand_tree(pc, n->items[i], vars, n_vars) < 0)
                                return -EINVAL;
                return 0;
        case YNODE_MAP:
                for (size_t i = 0; i < n->n; i++)
                        if (expand_tree(pc, n->pairs[i].value, vars, n_vars) < 0)
                                return -EINVAL;
                return 0;
        }
        return 0;
}

static void add_var(Plan *p, const char *name, const char *value, char *unavailable) {
        p->vars = xrealloc(p->vars, (p->n_vars + 1) * sizeof(Var));
        p->vars[p->n_vars++] = (Var){xstrdup(name), xstrdup(value ? value : ""), unavailable};
}

static const char *deb_arch_of(const char *arch) {
        if (streq(arch, "x86_64"))
                return "amd64";
        if (streq(arch, "aarch64"))
                return "arm64";
        return NULL;
}

static const char *arch_dir_of(const char *arch) {
        if (streq(arch, "x86_64"))
                return "x86_64";
        if (streq(arch, "aarch64"))
                return "sbsa"; /* NVIDIA's name for Arm servers */
        return NULL;
}

static void add_builtin_vars(Plan *p, const Host *host) {
        const char *arch = host_arch();
        OsInfo os = {0};
        int r;

        add_var(p, "arch", arch, NULL);
        add_var(p, "deb_arch", deb_arch_of(arch),
                deb_arch_of(arch) ? NULL : xasprintf("architecture %s is not supported", arch));
        add_var(p, "arch_dir", arch_dir_of(arch),
                arch_dir_of(arch) ? NULL : xasprintf("architecture %s is not supported", arch));

        r = host_os_info(host, &os);
        if (r < 0) {
                _cleanup_free_ char *f = host_path(host, "/etc/os-release");
                add_var(p, "os_id", "", xasprintf("cannot read %s: %s", f, strerror(-r)));
                add_var(p, "os_version", "", xasprintf("cannot read %s: %s", f, strerror(-r)));
                add_var(p, "distro", "", xasprintf("cannot read %s: %s", f, strerror(-r)));
        } else {
                Buf d = {0};
                buf_puts(&d, os.id);
                for (const char *c = os.version_id; *c; c++)
                        if (*c != '.')
                                buf_append(&d, c, 1);
                _cleanup_free_ char *distro = buf_steal(&d);
                add_var(p, "os_id", os.id, NULL);
                add_var(p, "os_version", os.version_id, NULL);
                add_var(p, "distro", distro, NULL);
        }
        os_info_done(&os);
        /* in an image (--image) commands run chrooted into the root: to them it is "/" */
        add_var(p, "root", host->image ? "" : host->root, NULL);
        _cleanup_free_ char *dir = xstrdup(p->path);
        add_var(p, "plan_dir", dirname(dir), NULL);
}

static bool var_name_ok(const char *s) {
        if (!*s || !(isalpha((unsigned char) *s) || *s == '_'))
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && *s != '_')
                        return false;
        return true;
}

static const char *const var_keys[] = {"value", "secret", NULL};

/* A variable is a string, or {value: STRING, secret: BOOL} (value optional for a secret, which then
 * must come from --var). *ret_value: the value's node, NULL when there is none. */
static int var_declaration(ParseCtx *pc, const YNode *k, YNode *v, YNode **ret_value, bool *ret_secret) {
        bool secret = false;
        if (v->type == YNODE_MAP) {
                const YNode *s = ynode_get(v, "secret");
                if (schema_keys(pc, v, "a variable", var_keys) < 0 || (s && schema_bool(pc, s, "secret", &secret) < 0))
                        return -EINVAL;
                v = (YNode *) ynode_get(v, "value");
        }
        if (v && (v->type != YNODE_SCALAR || ynode_is_null(v))) {
                src_error_set(pc->err, pc->file, v, "the value of variable '%s' must be a string, found a %s",
                              k->value, ynode_type_name(v));
                return -EINVAL;
        }
        if (!v && !secret) {
                src_error_set(pc->err, pc->file, k, "variable '%s' has no value (write name: VALUE, or "
                              "{secret: true} for one that --var gives)", k->value);
                return -EINVAL;
        }
        *ret_value = v;
        *ret_secret = secret;
        return 0;
}

static const char *find_override(const Plan *p, const char *name) {
        const char *over = NULL;
        size_t n = strlen(name);
        for (size_t o = 0; p->overrides && p->overrides[o]; o++)
                if (strncmp(p->overrides[o], name, n) == 0 && p->overrides[o][n] == '=')
                        over = p->overrides[o] + n + 1;
        return over;
}

static int parse_vars(ParseCtx *pc, Plan *p, YNode *vars) {
        size_t n_builtin = p->n_vars;
        if (schema_map(pc, vars, "vars") < 0)
                return -EINVAL;
        for (size_t i = 0; i < vars->n; i++) {
                YNode *k = vars->pairs[i].key, *v = NULL;
                bool secret = false;
                if (!var_name_ok(k->value)) {
                        src_error_set(pc->err, pc->file, k,
                                      "'%s' is not a valid variable name (letters, digits and _, not starting with a digit)",
                                      k->value);
                        return -EINVAL;
                }
                if (find_var(p->vars, n_builtin, k->value, strlen(k->value))) {
                        src_error_set(pc->err, pc->file, k, "variable '%s' is built in and cannot be redefined",
                                      k->value);
                        return -EINVAL;
                }
                if (var_declaration(pc, k, vars->pairs[i].value, &v, &secret) < 0)
                        return -EINVAL;
                const char *over = find_override(p, k->value);
                if (!over && !v) {
                        src_error_set(pc->err, pc->file, k, "variable '%s' is secret and the plan gives it no value: "
                                      "give it with --var %s=VALUE", k->value, k->value);
                        return -EINVAL;
                }
                /* a variable sees the built-ins and the variables defined before it */
                if (!over && expand_scalar(pc, v, p->vars, p->n_vars) < 0)
                        return -EINVAL;
                add_var(p, k->value, over ? over : v->value, NULL);
                p->vars[p->n_vars - 1].secret = secret;
        }
        return 0;
}

static int plan_parse_tree(ParseCtx *pc, Plan *p, YNode *root, const Host *host) {
        const YNode *v;
        YNode *vars = NULL;

        if (root->type != YNODE_MAP) {
                src_error_set(pc->err, pc->file, root, "a plan must be a map with version, name and steps, found a %s",
                              ynode_type_name(root));
                return -EINVAL;
        }
        if (schema_keys(pc, root, "the plan", plan_keys) < 0)
                return -EINVAL;
        if (schema_require(pc, root, "version", "the plan", &v) < 0)
                return -EINVAL;
        if (v->type != YNODE_SCALAR || !streq(v->value, "1")) {
                src_error_set(pc->err, pc->file, v, "unsupported plan version %s%s%s; this gpubase reads version 1",
                              v->type == YNODE_SCALAR ? "'" : "(a ", v->type == YNODE_SCALAR ? v->value : ynode_type_name(v),
                              v->type == YNODE_SCALAR ? "'" : ")");
                return -EINVAL;
        }
        p->version = 1;

        add_builtin_vars(p, host);
        p->n_builtin_vars = p->n_vars;
        for (size_t i = 0; i < root->n; i++)
                if (streq(root->pairs[i].key->value, "vars"))
                        vars = root->pairs[i].value;
        if (vars && parse_vars(pc, p, vars) < 0)
                return -EINVAL;
        for (size_t o = 0; p->overrides && p->overrides[o]; o++) {
                const char *eq = strchr(p->overrides[o], '=');
                const Var *ov = eq ? find_var(p->vars, p->n_vars, p->overrides[o], (size_t) (eq - p->overrides[o])) : NULL;
                if (!ov || ov < p->vars + p->n_builtin_vars) {
                        src_error_set_at(pc->err, pc->file, 0, 0,
                                         "--var %s: %s", p->overrides[o],
                                         !eq ? "write NAME=VALUE" : ov ? "a built-in variable cannot be overridden"
                                                                      : "the plan defines no such variable in vars");
                        return -EINVAL;
                }
        }
        for (size_t i = 0; i < root->n; i++)
                if (root->pairs[i].value != vars && expand_tree(pc, root->pairs[i].value, p->vars, p->n_vars) < 0)
                        return -EINVAL;

        if (schema_require(pc, root, "name", "the plan", &v) < 0 || schema_string(pc, v, "name", &p->name) < 0)
                return -EINVAL;
        if ((v = ynode_get(root, "description")) && schema_string(pc, v, "description", &p->description) < 0)
                return -EINVAL;
        if ((v = ynode_get(root, "match")) && plan_parse_match(pc, p, v) < 0)
                return -EINVAL;
        if ((v = ynode_get(root, "workloads")) && plan_parse_workloads(pc, p, v) < 0)
                return -EINVAL;
        if ((v = ynode_get(root, "watch")) && plan_parse_watch(pc, p, v) < 0)
                return -EINVAL;
        if ((v = ynode_get(root, "expect")) && plan_parse_expect(pc, p, v) < 0)
                return -EINVAL;

        if (schema_require(pc, root, "steps", "the plan", &v) < 0)
                return -EINVAL;
        if (v->type != YNODE_SEQ || v->n == 0) {
                src_error_set(pc->err, pc->file, v, "steps must be a non-empty list of steps, found %s%s",
                              v->type == YNODE_SEQ ? "an empty list" : "a ", v->type == YNODE_SEQ ? "" : ynode_type_name(v));
                return -EINVAL;
        }
        if (v->n > PLAN_MAX_STEPS) {
                src_error_set(pc->err, pc->file, v, "a plan has at most %d steps, this one has %zu", PLAN_MAX_STEPS, v->n);
                return -EINVAL;
        }
        p->steps = xcalloc(v->n, sizeof(Step));
        for (size_t i = 0; i < v->n; i++) {
                int r = step_parse(pc, p, v->items[i], &p->steps[i]);
                p->n_steps = i + 1;
                if (r < 0)
                        return r;
        }
        return 0;
}

/* file names the plan in messages; path is what the plan records (absolute for files). */
static int plan_load_text(const char *file, const char *path, const char *text, size_t len, const Host *host,
                          char *const *overrides, Plan **ret, SrcError *reterr) {
        _cleanup_(plan_freep) Plan *p = xcalloc(1, sizeof(Plan));
        _cleanup_(ynode_freep) YNode *root = NULL;
        p->intent = (PlanIntent){.driver_branch = -1, .driver_flavor = -1, .signing_route = -1};
        ParseCtx pc = {.file = file, .err = reterr, .env_values = &p->env_values};
        int r;

        p->path = xstrdup(path);
        if (overrides && overrides[0]) {
                p->overrides = strv_copy(overrides);
                Buf b = {0};
                buf_append(&b, text, len);
                for (size_t o = 0; overrides[o]; o++) {
                        buf_append(&b, "", 1);
                        buf_puts(&b, overrides[o]);
                }
                sha256_hex(b.data, b.len, p->sha256);
                buf_done(&b);
        } else
                sha256_hex(text, len, p->sha256);
        const char *nul = memchr(text, 0, len);
        if (nul) {
                unsigned line = 1, col = 1;
                for (const char *c = text; c < nul; c++, col++)
                        if (*c == '\n') {
                                line++;
                                col = 0;
                        }
                src_error_set_at(reterr, file, line, col, "the plan contains a NUL byte; is it a text file?");
                return -EINVAL;
        }
        /* a UTF-8 byte order mark, as some Windows editors write: not part of the YAML */
        if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
                text += 3;
                len -= 3;
        }
        r = ynode_parse(file, text, len, &root, reterr);
        if (r < 0)
                return r;
        r = plan_parse_tree(&pc, p, root, host);
        if (r < 0)
                return r;
        for (size_t i = 0; i < p->n_steps; i++) {
                const Step *s = &p->steps[i];
                if (s->kind->declare)
                        s->kind->declare(s, &p->intent);
                for (size_t j = 0; j < s->n_checks; j++)
                        if (s->checks[j].kind->declare)
                                s->checks[j].kind->declare(&s->checks[j], &p->intent);
        }
        *ret = TAKE_PTR(p);
        return 0;
}

int plan_load_string(const char *file, const char *text, size_t len, const Host *host, Plan **ret,
                     SrcError *reterr) {
        return plan_load_text(file, file, text, len, host, NULL, ret, reterr);
}

int plan_load(const char *path, const Host *host, Plan **ret, SrcError *reterr) {
        return plan_load_with_vars(path, host, NULL, ret, reterr);
}

int plan_load_with_vars(const char *path, const Host *host, char *const *overrides, Plan **ret, SrcError *reterr) {
        _cleanup_free_ char *abs = NULL, *text = NULL;
        size_t len;
        int r;

        abs = realpath(path, NULL);
        if (!abs) {
                r = negative_errno();
                src_error_set_at(reterr, path, 0, 0, "cannot open the plan: %s", strerror(-r));
                return r;
        }
        r = read_file(abs, PLAN_MAX_SIZE, &text, &len);
        if (r < 0) {
                src_error_set_at(reterr, path, 0, 0, "cannot read the plan: %s",
                                 r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
                return r == -EFBIG ? -EINVAL : r;
        }
        /* messages name the file as the user wrote it; the state and ${plan_dir} use the absolute path */
        return plan_load_text(path, abs, text, len, host, overrides, ret, reterr);
}

int plan_matches_host(const Plan *p, const Host *host, char **ret_why) {
        const char *arch = host_arch();
        if (p->match_arch) {
                bool ok = false;
                for (size_t i = 0; p->match_arch[i]; i++)
                        ok = ok || streq(p->match_arch[i], arch);
                if (!ok) {
                        _cleanup_free_ char *l = strv_join(p->match_arch, ", ");
                        *ret_why = xasprintf("plan '%s' is for %s; this machine is %s", p->name, l, arch);
                        return 0;
                }
        }
        if (p->match_os) {
                OsInfo os = {0};
                int r = host_os_info(host, &os);
                if (r < 0) {
                        _cleanup_free_ char *f = host_path(host, "/etc/os-release");
                        *ret_why = xasprintf("plan '%s' needs to know the OS but %s cannot be read: %s", p->name, f,
                                             strerror(-r));
                        return 0;
                }
                _cleanup_free_ char *me = xasprintf("%s-%s", os.id, os.version_id);
                os_info_done(&os);
                bool ok = false;
                for (size_t i = 0; p->match_os[i]; i++)
                        ok = ok || streq(p->match_os[i], me);
                if (!ok) {
                        _cleanup_free_ char *l = strv_join(p->match_os, ", ");
                        *ret_why = xasprintf("plan '%s' is for %s; this machine is %s", p->name, l, me);
                        return 0;
                }
        }
        return 1;
}

const Step *plan_find_step(const Plan *p, const char *id) {
        for (size_t i = 0; i < p->n_steps; i++)
                if (streq(p->steps[i].id, id))
                        return &p->steps[i];
        return NULL;
}

char **plan_secret_values(const Plan *p) {
        char **l = NULL;
        for (size_t i = 0; i < p->n_vars; i++)
                if (p->vars[i].secret && !isempty(p->vars[i].value))
                        strv_push(&l, xstrdup(p->vars[i].value));
        return l;
}

bool plan_var_is_secret(const Plan *p, const char *name, size_t len) {
        const Var *v = find_var(p->vars, p->n_vars, name, len);
        return v && v->secret;
}

const char *plan_var(const Plan *p, const char *name) {
        const Var *v = find_var(p->vars, p->n_vars, name, strlen(name));
        return v && !v->unavailable ? v->value : NULL;
}
