#include "plan/secret_vars.h"

#include <string.h>
#include <unistd.h>

#include "base/error.h"

char **secret_vars_masked(const Plan *p) {
        char **l = NULL;
        for (size_t o = 0; p->overrides && p->overrides[o]; o++) {
                const char *eq = strchr(p->overrides[o], '=');
                if (eq && plan_var_is_secret(p, p->overrides[o], (size_t) (eq - p->overrides[o])))
                        strv_push(&l, xasprintf("%.*s=" REDACTED, (int) (eq - p->overrides[o]), p->overrides[o]));
                else
                        strv_push(&l, xstrdup(p->overrides[o]));
        }
        return l;
}

int secret_vars_save(const char *path, const Plan *p, char **reterr) {
        Buf b = {0};
        for (size_t o = 0; p->overrides && p->overrides[o]; o++) {
                const char *eq = strchr(p->overrides[o], '=');
                if (eq && plan_var_is_secret(p, p->overrides[o], (size_t) (eq - p->overrides[o])) &&
                    !strchr(p->overrides[o], '\n'))
                        buf_printf(&b, "%s\n", p->overrides[o]);
        }
        _cleanup_free_ char *text = buf_steal(&b);
        int r;
        if (isempty(text)) {
                /* nothing secret: a file left by an earlier run goes (if it cannot, the checkpoint
                 * that follows fails for the same reason, and says so) */
                (void) unlink(path);
                return 0;
        }
        r = mkdir_parents_mode(path, 0755, 0700); /* only the state directory is private */
        if (r >= 0)
                r = write_file_atomic(path, text, strlen(text), 0600);
        if (r < 0)
                return errorf(reterr, r, "cannot write %s (the values of secret variables, for resume): %s", path,
                              strerror(-r));
        return 0;
}

/* The value for name[0..n) in list (NAME=VALUE lines or entries); the last one wins. */
static const char *find_value(char *const *list, const char *name, size_t n) {
        const char *v = NULL;
        for (size_t i = 0; list && list[i]; i++)
                if (strncmp(list[i], name, n) == 0 && list[i][n] == '=')
                        v = list[i] + n + 1;
        return v;
}

int secret_vars_restore(const char *path, char *const *given, char **vars, char **reterr) {
        _cleanup_free_ char *text = NULL;
        _cleanup_strv_free_ char **kept = NULL;
        int r = read_file(path, 64 * 1024, &text, NULL);
        if (r < 0 && r != -ENOENT)
                return errorf(reterr, r, "cannot read %s: %s", path, strerror(-r));
        if (r >= 0) {
                char *save = NULL;
                for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                        strv_push(&kept, xstrdup(l));
        }
        for (size_t i = 0; vars && vars[i]; i++) {
                const char *eq = strchr(vars[i], '=');
                if (!eq || !streq(eq + 1, REDACTED))
                        continue;
                size_t n = (size_t) (eq - vars[i]);
                const char *v = find_value(given, vars[i], n);
                if (!v)
                        v = find_value(kept, vars[i], n);
                if (!v)
                        return errorf(reterr, -ENOKEY,
                                      "the run's secret variable '%.*s' has no value: %s does not keep it; give it "
                                      "again with `gpubase resume --var %.*s=VALUE`",
                                      (int) n, vars[i], path, (int) n, vars[i]);
                char *full = xasprintf("%.*s=%s", (int) n, vars[i], v);
                free(vars[i]);
                vars[i] = full;
        }
        return 0;
}

void redact_in_place(char **text, char *const *secrets) {
        if (!*text || !secrets)
                return;
        char *clean = redact(*text, strlen(*text), secrets, NULL);
        free(*text);
        *text = clean;
}

void state_redact(State *s, char *const *secrets) {
        if (!secrets)
                return;
        redact_in_place(&s->error, secrets);
        for (size_t i = 0; i < s->n_steps; i++) {
                redact_in_place(&s->steps[i].detail, secrets);
                redact_in_place(&s->steps[i].error, secrets);
        }
}
