/* runtime.configured and runtime.restarted: is the container runtime wired to the NVIDIA runtime,
 * and is the running daemon using that configuration? */
#include <fnmatch.h>
#include <json-c/json.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "base/jsontext.h"
#include "checks/facts.h"
#include "checks/param.h"

#define CONTAINERD_TOML "/etc/containerd/config.toml"
#define CONTAINERD_DROPIN "/etc/containerd/conf.d/99-nvidia.toml"
#define NVIDIA_RUNTIME "nvidia-container-runtime"

void daemon_json_done(DaemonJson *d) {
        free(d->nvidia_path);
        free(d->default_runtime);
        *d = (DaemonJson){0};
}

/* RFC 8259, exactly: dockerd (Go's encoding/json) refuses what json-c tolerates even in strict
 * mode (NaN, single quotes, raw control characters). Returns the offset of the first error or -1. */
typedef struct Json {
        const char *s;
        size_t len, i;
        unsigned depth;
        bool nul; /* stopped at a \u0000: valid JSON, but json-c cuts keys and values short there */
} Json;

static void json_ws(Json *j) {
        while (j->i < j->len && strchr(" \t\r\n", j->s[j->i]))
                j->i++;
}

static bool json_lit(Json *j, const char *lit) {
        size_t n = strlen(lit);
        if (j->len - j->i < n || memcmp(j->s + j->i, lit, n) != 0)
                return false;
        j->i += n;
        return true;
}

static bool json_string(Json *j) {
        if (j->i >= j->len || j->s[j->i] != '"')
                return false;
        for (j->i++; j->i < j->len; j->i++) {
                unsigned char c = (unsigned char) j->s[j->i];
                if (c == '"') {
                        j->i++;
                        return true;
                }
                if (c < 0x20)
                        return false;
                if (c == '\\') {
                        if (++j->i >= j->len)
                                return false;
                        c = (unsigned char) j->s[j->i];
                        if (c == 'u') {
                                size_t at = j->i - 1;
                                for (int k = 0; k < 4; k++)
                                        if (++j->i >= j->len || !strchr("0123456789abcdefABCDEF", j->s[j->i]) || !j->s[j->i])
                                                return false;
                                if (memcmp(j->s + j->i - 3, "0000", 4) == 0) {
                                        /* {"runtimes\u0000x": ...} would read as "runtimes" */
                                        j->i = at;
                                        j->nul = true;
                                        return false;
                                }
                        } else if (!strchr("\"\\/bfnrt", c) || !c)
                                return false;
                }
        }
        return false;
}

static bool json_digits(Json *j) {
        size_t start = j->i;
        while (j->i < j->len && j->s[j->i] >= '0' && j->s[j->i] <= '9')
                j->i++;
        return j->i > start;
}

static bool json_number(Json *j) {
        if (j->i < j->len && j->s[j->i] == '-')
                j->i++;
        if (j->i < j->len && j->s[j->i] == '0')
                j->i++;
        else if (!json_digits(j))
                return false;
        if (j->i < j->len && j->s[j->i] == '.') {
                j->i++;
                if (!json_digits(j))
                        return false;
        }
        if (j->i < j->len && (j->s[j->i] == 'e' || j->s[j->i] == 'E')) {
                j->i++;
                if (j->i < j->len && (j->s[j->i] == '+' || j->s[j->i] == '-'))
                        j->i++;
                if (!json_digits(j))
                        return false;
        }
        return true;
}

static bool json_value(Json *j) {
        json_ws(j);
        if (j->i >= j->len || ++j->depth > JSON_MAX_DEPTH)
                return false;
        char c = j->s[j->i];
        bool ok;
        if (c == '{' || c == '[') {
                char close = c == '{' ? '}' : ']';
                j->i++;
                json_ws(j);
                if (j->i < j->len && j->s[j->i] == close) {
                        j->i++;
                        j->depth--;
                        return true;
                }
                for (;;) {
                        if (c == '{') {
                                json_ws(j);
                                if (!json_string(j))
                                        return false;
                                json_ws(j);
                                if (j->i >= j->len || j->s[j->i] != ':')
                                        return false;
                                j->i++;
                        }
                        if (!json_value(j))
                                return false;
                        json_ws(j);
                        if (j->i < j->len && j->s[j->i] == ',') {
                                j->i++;
                                continue;
                        }
                        if (j->i < j->len && j->s[j->i] == close) {
                                j->i++;
                                break;
                        }
                        return false;
                }
                ok = true;
        } else if (c == '"')
                ok = json_string(j);
        else if (c == '-' || (c >= '0' && c <= '9'))
                ok = json_number(j);
        else
                ok = json_lit(j, "true") || json_lit(j, "false") || json_lit(j, "null");
        j->depth--;
        return ok;
}

/* -1 when text is one valid JSON value (whitespace around it allowed), else the error's offset. */
static ssize_t json_strict_error(const char *text, size_t len, bool *ret_trailing, bool *ret_nul) {
        Json j = {.s = text, .len = len};
        *ret_trailing = false;
        *ret_nul = false;
        if (!json_value(&j)) {
                *ret_nul = j.nul;
                return (ssize_t) j.i;
        }
        json_ws(&j);
        if (j.i < len) {
                *ret_trailing = true;
                return (ssize_t) j.i;
        }
        return -1;
}

/* dockerd reads daemon.json into typed fields and refuses the whole file when one has the wrong
 * type; json-c would read a string "false" as true. The keys gpubase reads, typed as dockerd types
 * them: -EBADMSG naming the key and the type it must have. */
static const char *json_type_word(json_object *v) {
        switch (json_object_get_type(v)) {
        case json_type_null:
                return "null";
        case json_type_boolean:
                return "true or false";
        case json_type_double:
        case json_type_int:
                return "a number";
        case json_type_object:
                return "an object";
        case json_type_array:
                return "a list";
        case json_type_string:
                return "a string";
        }
        return "?";
}

static int want_type(json_object *v, json_type type, const char *want, const char *key, const char *sub,
                     char **reterr) {
        if (json_object_is_type(v, type))
                return 0;
        return errorf(reterr, -EBADMSG, "\"%s%s%s\" must be %s, not %s (dockerd refuses the file)", key,
                      sub ? "." : "", sub ? sub : "", want, json_type_word(v));
}

static int check_runtime(const char *name, json_object *rt, char **reterr) {
        _cleanup_free_ char *key = xasprintf("runtimes.%s", name);
        json_object *v = NULL;
        int r = want_type(rt, json_type_object, "an object", key, NULL, reterr);
        if (r >= 0 && json_object_object_get_ex(rt, "path", &v))
                r = want_type(v, json_type_string, "a string", key, "path", reterr);
        if (r >= 0 && json_object_object_get_ex(rt, "runtimeArgs", &v)) {
                r = want_type(v, json_type_array, "a list of strings", key, "runtimeArgs", reterr);
                for (size_t i = 0; r >= 0 && i < json_object_array_length(v); i++)
                        r = want_type(json_object_array_get_idx(v, i), json_type_string, "a list of strings", key,
                                      "runtimeArgs", reterr);
        }
        return r;
}

static int daemon_json_check_types(json_object *o, char **reterr) {
        json_object *v = NULL;
        int r = 0;
        if (json_object_object_get_ex(o, "default-runtime", &v))
                r = want_type(v, json_type_string, "a string", "default-runtime", NULL, reterr);
        if (r >= 0 && json_object_object_get_ex(o, "features", &v)) {
                r = want_type(v, json_type_object, "an object", "features", NULL, reterr);
                if (r >= 0) { /* dockerd: a map of names to true or false */
                        json_object_object_foreach(v, name, on) {
                                r = want_type(on, json_type_boolean, "true or false", "features", name, reterr);
                                if (r < 0)
                                        break;
                        }
                }
        }
        if (r >= 0 && json_object_object_get_ex(o, "runtimes", &v)) {
                r = want_type(v, json_type_object, "an object", "runtimes", NULL, reterr);
                if (r >= 0) {
                        json_object_object_foreach(v, name, rt) {
                                r = check_runtime(name, rt, reterr);
                                if (r < 0)
                                        break;
                        }
                }
        }
        return r;
}

int daemon_json_parse(const char *text, size_t len, DaemonJson *ret, char **reterr) {
        DaemonJson d = {0};
        bool trailing = false, nul = false;
        ssize_t at = json_strict_error(text, len, &trailing, &nul);
        if (at >= 0 && nul)
                return errorf(reterr, -EBADMSG,
                              "unreadable JSON at byte %zd: \\u0000 (a NUL character) would cut a key or value short here",
                              at);
        if (at >= 0)
                return errorf(reterr, -EBADMSG, "invalid JSON at byte %zd: %s", at,
                              trailing               ? "data after the object"
                              : (size_t) at >= len ? "unexpected end of file"
                                                   : "unexpected character");
        json_object *o = NULL;
        _cleanup_free_ char *why = NULL;
        if (json_parse(text, len, &o, &why) < 0)
                return errorf(reterr, -EBADMSG, "invalid JSON: %s", why);
        if (!json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return errorf(reterr, -EBADMSG, "the top level is not a JSON object");
        }
        int r = daemon_json_check_types(o, reterr);
        if (r < 0) {
                json_object_put(o);
                return r;
        }
        json_object_object_foreach(o, key, val) {
                if (streq(key, "runtimes")) {
                        json_object *nv = NULL, *path = NULL;
                        if (json_object_is_type(val, json_type_object) && json_object_object_get_ex(val, "nvidia", &nv) &&
                            json_object_is_type(nv, json_type_object)) {
                                d.has_nvidia = true;
                                if (json_object_object_get_ex(nv, "path", &path) && json_object_is_type(path, json_type_string))
                                        d.nvidia_path = xstrdup(json_object_get_string(path));
                                d.nvidia_runtime_args = json_object_object_get_ex(nv, "runtimeArgs", NULL);
                        }
                } else if (streq(key, "default-runtime")) {
                        if (json_object_is_type(val, json_type_string))
                                d.default_runtime = xstrdup(json_object_get_string(val));
                } else if (streq(key, "features")) {
                        json_object *cdi = NULL;
                        d.cdi = json_object_is_type(val, json_type_object) && json_object_object_get_ex(val, "cdi", &cdi) &&
                                json_object_get_boolean(cdi);
                } else
                        d.other_keys++;
        }
        json_object_put(o);
        *ret = d;
        return 0;
}

bool docker_runtime_options_ok(const Host *h, bool set_as_default, bool cdi, char **ret_why) {
        if (!set_as_default && !cdi)
                return true;
        _cleanup_free_ char *p = host_path(h, DOCKER_JSON), *text = NULL, *err = NULL;
        size_t len = 0;
        DaemonJson d = {0};
        if (read_file(p, 16 * 1024 * 1024, &text, &len) < 0 || daemon_json_parse(text, len, &d, &err) < 0) {
                *ret_why = xstrdup(DOCKER_JSON " cannot be read");
                return false;
        }
        bool ok = (!set_as_default || (d.default_runtime && streq(d.default_runtime, "nvidia"))) && (!cdi || d.cdi);
        daemon_json_done(&d);
        if (!ok)
                *ret_why = xstrdup(set_as_default ? "nvidia is not the default runtime (or CDI is off)" : "CDI is not enabled");
        return ok;
}

void containerd_config_done(ContainerdConfig *c) {
        free(c->imports);
        *c = (ContainerdConfig){0};
}

/* The value of a top-level `imports = [...]` (it may span lines), or NULL. */
static char *toml_imports(const char *toml) {
        for (const char *l = toml; l && *l;) {
                const char *e = strchr(l, '\n');
                const char *p = l;
                while (*p == ' ' || *p == '\t')
                        p++;
                if (*p == '[') /* the first table: top-level keys come before it */
                        return NULL;
                if (startswith(p, "imports")) {
                        const char *q = p + strlen("imports");
                        while (*q == ' ' || *q == '\t')
                                q++;
                        if (*q == '=') {
                                const char *open = strchr(q, '[');
                                const char *close = open ? strchr(open, ']') : NULL;
                                if (open && close)
                                        return xstrndup(p, (size_t) (close - p + 1));
                                return xstrndup(p, e ? (size_t) (e - p) : strlen(p));
                        }
                }
                l = e ? e + 1 : NULL;
        }
        return NULL;
}

void containerd_inspect(const char *config_toml, const char *dropin_text, const char *dropin_path,
                        ContainerdConfig *ret) {
        ContainerdConfig c = {0};
        c.imports = config_toml ? toml_imports(config_toml) : NULL;
        /* every string in the array, "..." or '...', is a glob */
        for (const char *q = c.imports ? strchr(c.imports, '[') : NULL; q && *q; q++) {
                if (*q != '"' && *q != '\'')
                        continue;
                const char *qe = strchr(q + 1, *q);
                if (!qe)
                        break;
                _cleanup_free_ char *pat = xstrndup(q + 1, (size_t) (qe - q - 1));
                if (fnmatch(pat, dropin_path, FNM_PATHNAME) == 0)
                        c.imports_dropin = true;
                q = qe;
        }
        c.dropin_has_runtime = dropin_text && strstr(dropin_text, "/usr/bin/" NVIDIA_RUNTIME);
        *ret = c;
}

static bool exists(const Host *h, const char *path) {
        _cleanup_free_ char *p = host_path(h, path);
        struct stat st;
        return stat(p, &st) == 0;
}

const char *container_runtime_found(const Host *h) {
        DpkgPackage p = {0};
        bool docker = exists(h, "/etc/docker") ||
                      dpkg_find_first(h, (const char *const[]){"docker.io", "docker-ce", NULL}, &p) == 0;
        dpkg_package_done(&p);
        if (docker)
                return "docker";
        bool containerd = exists(h, "/etc/containerd") ||
                          dpkg_find_first(h, (const char *const[]){"containerd", "containerd.io", NULL}, &p) == 0;
        dpkg_package_done(&p);
        return containerd ? "containerd" : NULL;
}

/* The runtime to check: the parameter, the plan's, or what is on the machine (docker first). */
static const char *pick_runtime(const CheckSpec *c, Ctx *ctx) {
        if (c->params)
                return c->params;
        if (ctx->plan && ctx->plan->intent.runtime)
                return ctx->plan->intent.runtime;
        return container_runtime_found(ctx->host);
}

static void docker_configured(Ctx *ctx, CheckResult *ret) {
        _cleanup_free_ char *p = host_path(ctx->host, DOCKER_JSON);
        _cleanup_free_ char *text = NULL, *err = NULL;
        size_t len = 0;
        DaemonJson d = {0};
        const char *fix = "nvidia-ctk runtime configure --runtime=docker, then restart docker";
        int r = read_file(p, 16 * 1024 * 1024, &text, &len);
        if (r == -ENOENT) {
                check_result_set(ret, CHECK_FAIL, xstrdup(DOCKER_JSON " does not exist: docker has no nvidia runtime"),
                                 xstrdup(fix));
                return;
        }
        if (r < 0) {
                check_result_set(ret, CHECK_FAIL, xasprintf("cannot read " DOCKER_JSON ": %s", strerror(-r)), NULL);
                return;
        }
        if (daemon_json_parse(text, len, &d, &err) < 0) {
                check_result_set(ret, CHECK_FAIL, xasprintf(DOCKER_JSON " is not valid: %s", err),
                                 xstrdup("repair the file by hand (nvidia-ctk refuses an invalid or empty file), then "
                                         "run nvidia-ctk runtime configure --runtime=docker"));
                return;
        }
        if (!d.has_nvidia && d.cdi)
                check_result_set(ret, CHECK_OK,
                                 xstrdup("CDI mode (features.cdi): GPUs are requested as CDI devices, so no nvidia "
                                         "runtime entry is expected"),
                                 NULL);
        else if (!d.has_nvidia)
                check_result_set(ret, CHECK_FAIL, xstrdup(DOCKER_JSON " has no runtimes.nvidia entry: the runtime was "
                                                          "never configured after the toolkit was installed"),
                                 xstrdup(fix));
        else if (!d.nvidia_path || !(streq(d.nvidia_path, NVIDIA_RUNTIME) ||
                                     (strlen(d.nvidia_path) > strlen(NVIDIA_RUNTIME) &&
                                      streq(d.nvidia_path + strlen(d.nvidia_path) - strlen(NVIDIA_RUNTIME) - 1,
                                            "/" NVIDIA_RUNTIME))))
                check_result_set(ret, CHECK_FAIL,
                                 xasprintf("runtimes.nvidia.path is %s%s%s, not " NVIDIA_RUNTIME,
                                           d.nvidia_path ? "\"" : "", d.nvidia_path ? d.nvidia_path : "missing",
                                           d.nvidia_path ? "\"" : ""),
                                 xstrdup(fix));
        else if (d.nvidia_runtime_args)
                check_result_set(ret, CHECK_WARN,
                                 xstrdup("runtimes.nvidia uses the old \"runtimeArgs\" key (written by old Ansible roles); "
                                         "nvidia-ctk writes \"args\""),
                                 xstrdup(fix));
        else
                check_result_set(ret, CHECK_OK,
                                 xasprintf("nvidia runtime configured (%s)%s%s%s; %zu other setting%s kept", d.nvidia_path,
                                           d.default_runtime ? ", default runtime " : "",
                                           d.default_runtime ? d.default_runtime : "", d.cdi ? ", CDI enabled" : "",
                                           d.other_keys, d.other_keys == 1 ? "" : "s"),
                                 NULL);
        daemon_json_done(&d);
}

static void containerd_configured(Ctx *ctx, CheckResult *ret) {
        _cleanup_free_ char *cp = host_path(ctx->host, CONTAINERD_TOML), *dp = host_path(ctx->host, CONTAINERD_DROPIN);
        _cleanup_free_ char *config = NULL, *dropin = NULL;
        ContainerdConfig c = {0};
        const char *fix = "nvidia-ctk runtime configure --runtime=containerd, then restart containerd";
        (void) read_file(cp, 16 * 1024 * 1024, &config, NULL);
        if (read_file(dp, 16 * 1024 * 1024, &dropin, NULL) < 0) {
                check_result_set(ret, CHECK_FAIL, xstrdup(CONTAINERD_DROPIN " does not exist: containerd has no nvidia runtime"),
                                 xstrdup(fix));
                return;
        }
        containerd_inspect(config, dropin, CONTAINERD_DROPIN, &c);
        if (!c.dropin_has_runtime)
                check_result_set(ret, CHECK_FAIL,
                                 xstrdup(CONTAINERD_DROPIN " does not name /usr/bin/" NVIDIA_RUNTIME " (BinaryName)"),
                                 xstrdup(fix));
        else if (!c.imports_dropin)
                check_result_set(ret, CHECK_FAIL,
                                 xasprintf("the drop-in " CONTAINERD_DROPIN " is never read: " CONTAINERD_TOML " %s",
                                           c.imports ? "has an imports line that does not cover it" : "has no imports line"),
                                 xstrdup("add imports = [\"/etc/containerd/conf.d/*.toml\"] at the top of " CONTAINERD_TOML
                                         " (nvidia-ctk runtime configure --runtime=containerd does it), then restart "
                                         "containerd"));
        else
                check_result_set(ret, CHECK_OK, xstrdup("nvidia runtime configured through " CONTAINERD_DROPIN), NULL);
        containerd_config_done(&c);
}

static void configured_run(const CheckSpec *c, Ctx *ctx, CheckResult *ret) {
        const char *rt = pick_runtime(c, ctx);
        if (!rt)
                check_result_set(ret, CHECK_SKIP, xstrdup("no container runtime (docker or containerd) found"), NULL);
        else if (streq(rt, "docker"))
                docker_configured(ctx, ret);
        else
                containerd_configured(ctx, ret);
}

const CheckKind check_runtime_configured = {
        .name = "runtime.configured",
        .summary = "docker's daemon.json / containerd's drop-in names the NVIDIA runtime (CDI mode recognised)",
        .param = CHECK_PARAM_OPTIONAL,
        .parse = check_param_runtime,
        .free_params = free,
        .run = configured_run,
        .declare = check_declare_runtime,
        .verify = true,
};

static uint64_t mtime_usec(const Host *h, const char *path) {
        _cleanup_free_ char *p = host_path(h, path);
        struct stat st;
        if (stat(p, &st) < 0)
                return 0;
        return (uint64_t) st.st_mtim.tv_sec * 1000000ULL + (uint64_t) st.st_mtim.tv_nsec / 1000ULL;
}

static void restarted_run(const CheckSpec *c, Ctx *ctx, CheckResult *ret) {
        const char *rt = pick_runtime(c, ctx);
        if (!rt) {
                check_result_set(ret, CHECK_SKIP, xstrdup("no container runtime (docker or containerd) found"), NULL);
                return;
        }
        bool docker = streq(rt, "docker");
        const char *unit = docker ? "docker.service" : "containerd.service";
        uint64_t conf = docker ? mtime_usec(ctx->host, DOCKER_JSON) : mtime_usec(ctx->host, CONTAINERD_DROPIN);
        if (!docker) {
                uint64_t t = mtime_usec(ctx->host, CONTAINERD_TOML);
                conf = t > conf ? t : conf;
        }
        uint64_t started = 0;
        int r = host_service_active_since(ctx->host, unit, docker ? "/run/docker.pid" : "/run/containerd/containerd.sock",
                                          &started);
        if (r < 0) {
                check_result_set(ret, CHECK_SKIP, xasprintf("%s is not running", unit), NULL);
                return;
        }
        if (!conf) {
                check_result_set(ret, CHECK_SKIP, xasprintf("%s has no configuration file to compare", unit), NULL);
                return;
        }
        _cleanup_free_ char *ct = format_timestamp(conf), *st = format_timestamp(started);
        if (conf > started)
                check_result_set(ret, CHECK_FAIL,
                                 xasprintf("the configuration changed at %s, after %s started at %s: the running daemon "
                                           "does not use the nvidia runtime yet",
                                           ct, unit, st),
                                 xasprintf("restart %s (systemctl restart %s)", docker ? "docker" : "containerd", unit));
        else
                check_result_set(ret, CHECK_OK, xasprintf("%s started at %s, after its configuration (%s)", unit, st, ct),
                                 NULL);
}

const CheckKind check_runtime_restarted = {
        .name = "runtime.restarted",
        .summary = "the container runtime was (re)started after its configuration last changed",
        .param = CHECK_PARAM_OPTIONAL,
        .parse = check_param_runtime,
        .free_params = free,
        .run = restarted_run,
        .declare = check_declare_runtime,
        .verify = true,
};
