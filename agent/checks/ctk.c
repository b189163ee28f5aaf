/* ctk.installed and ctk.held: the NVIDIA Container Toolkit's four packages, at one version. */
#include <string.h>

#include "host/exec.h"
#include "checks/facts.h"
#include "checks/param.h"
#include "checks/program.h"

const char *const ctk_packages[CTK_N_PACKAGES + 1] = {
        "nvidia-container-toolkit",
        "nvidia-container-toolkit-base",
        "libnvidia-container-tools",
        "libnvidia-container1",
        NULL,
};

void ctk_versions_done(CtkVersions *v) {
        for (size_t i = 0; i < CTK_N_PACKAGES; i++)
                free(v->installed[i]);
        free(v->version);
        *v = (CtkVersions){0};
}

void ctk_versions(const Host *h, CtkVersions *ret) {
        CtkVersions v = {0};
        size_t n = 0;
        for (size_t i = 0; i < CTK_N_PACKAGES; i++) {
                DpkgPackage p = {0};
                if (dpkg_find(h, ctk_packages[i], &p) == 0 && p.installed) {
                        v.installed[i] = TAKE_PTR(p.version);
                        if (!v.first)
                                v.first = v.installed[i];
                        else if (!streq(v.first, v.installed[i]))
                                v.mixed = true;
                        n++;
                }
                dpkg_package_done(&p);
        }
        if (n == CTK_N_PACKAGES && !v.mixed)
                v.version = xstrdup(v.first);
        *ret = v;
}

int parse_ctk_version(const char *text, char **ret) {
        static const char key[] = "NVIDIA Container Toolkit CLI version ";
        const char *p = strstr(text, key);
        if (!p)
                return -EBADMSG;
        p += sizeof key - 1;
        size_t n = strcspn(p, " \t\r\n");
        if (n == 0)
                return -EBADMSG;
        *ret = xstrndup(p, n);
        return 0;
}

/* `nvidia-ctk --version`: of the host's PATH, or inside the root (checks/program.h). 1 with
 * *ret_not_run when it was not run. */
static int ctk_cli_version(const Host *h, char **ret, char **ret_not_run) {
        char *args[] = {(char *) "--version", NULL};
        _cleanup_(exec_result_done) ExecResult res = {0};
        int r = program_run(h, "/usr/bin/nvidia-ctk", "nvidia-ctk", args, 30, &res, ret_not_run);
        if (r != 0)
                return r;
        if (res.exec_errno)
                return -res.exec_errno;
        if (res.status != 0)
                return -EIO;
        return parse_ctk_version(res.output, ret);
}

static void ctk_declare(const CheckSpec *c, PlanIntent *intent) {
        if (c->params && !intent->ctk_version)
                intent->ctk_version = xstrdup(c->params);
}

static void installed_run(const CheckSpec *c, Ctx *ctx, CheckResult *ret) {
        const char *want = c->params ? c->params : ctx->plan ? ctx->plan->intent.ctk_version : NULL;
        Buf missing = {0}, versions = {0};
        CtkVersions v = {0};

        if (dpkg_status_unreadable(ctx->host, ret))
                return; /* before anything is put into missing and versions */
        ctk_versions(ctx->host, &v);
        for (size_t i = 0; i < CTK_N_PACKAGES; i++)
                if (v.installed[i])
                        buf_printf(&versions, "%s%s %s", versions.len ? ", " : "", ctk_packages[i], v.installed[i]);
                else
                        buf_printf(&missing, "%s%s", missing.len ? ", " : "", ctk_packages[i]);
        const char *first = v.first;
        bool mixed = v.mixed;
        _cleanup_free_ char *miss = buf_steal(&missing), *vers = buf_steal(&versions);
        if (*miss && !first)
                check_result_set(ret, CHECK_FAIL, xstrdup("the NVIDIA Container Toolkit is not installed"),
                                 xstrdup("install nvidia-container-toolkit, nvidia-container-toolkit-base, "
                                         "libnvidia-container-tools and libnvidia-container1, pinned to one version"));
        else if (*miss)
                check_result_set(ret, CHECK_FAIL, xasprintf("missing: %s (installed: %s)", miss, vers),
                                 xasprintf("install all four packages at %s", first));
        else if (mixed)
                check_result_set(ret, CHECK_FAIL, xasprintf("the four packages are at different versions: %s", vers),
                                 xasprintf("pin all four to one version (e.g. =%s) and hold them", want ? want : first));
        else if (want && !streq(want, first))
                check_result_set(ret, CHECK_FAIL, xasprintf("installed %s, the plan wants %s", first, want),
                                 xasprintf("install all four packages at =%s and hold them", want));
        else {
                _cleanup_free_ char *cli = NULL, *not_run = NULL;
                int r = ctk_cli_version(ctx->host, &cli, &not_run);
                if (r == 1)
                        check_result_set(ret, CHECK_OK, xasprintf("all four packages at %s; nvidia-ctk %s", first, not_run),
                                         NULL);
                else if (r < 0)
                        check_result_set(ret, CHECK_WARN,
                                         xasprintf("packages at %s, but `nvidia-ctk --version` did not answer (%s)", first,
                                                   strerror(-r)),
                                         xstrdup("reinstall nvidia-container-toolkit-base, which ships nvidia-ctk"));
                else
                        check_result_set(ret, CHECK_OK, xasprintf("all four packages at %s; nvidia-ctk %s%s", first, cli,
                                                                  program_where(ctx->host)),
                                         NULL);
        }
        ctk_versions_done(&v);
}

const CheckKind check_ctk_installed = {
        .name = "ctk.installed",
        .summary = "the Container Toolkit's four packages are installed at one version (optionally: this one)",
        .param = CHECK_PARAM_OPTIONAL,
        .parse = check_param_string,
        .free_params = free,
        .run = installed_run,
        .declare = ctk_declare,
        .verify = true,
};

static void held_run(const CheckSpec *c _unused_, Ctx *ctx, CheckResult *ret) {
        Buf not_held = {0};
        size_t present = 0;
        if (dpkg_status_unreadable(ctx->host, ret))
                return;
        for (size_t i = 0; ctk_packages[i]; i++) {
                DpkgPackage p = {0};
                if (dpkg_find(ctx->host, ctk_packages[i], &p) == 0 && p.installed) {
                        present++;
                        if (!p.held)
                                buf_printf(&not_held, "%s%s", not_held.len ? " " : "", p.name);
                }
                dpkg_package_done(&p);
        }
        _cleanup_free_ char *nh = buf_steal(&not_held);
        if (present == 0)
                check_result_set(ret, CHECK_SKIP, xstrdup("the Container Toolkit is not installed"), NULL);
        else if (*nh)
                check_result_set(ret, CHECK_FAIL, xasprintf("not held: %s", nh), xasprintf("apt-mark hold %s", nh));
        else
                check_result_set(ret, CHECK_OK, xasprintf("all %zu toolkit packages are held", present), NULL);
}

const CheckKind check_ctk_held = {
        .name = "ctk.held",
        .summary = "the Container Toolkit's packages are held",
        .param = CHECK_PARAM_NONE,
        .run = held_run,
        .verify = true,
};
