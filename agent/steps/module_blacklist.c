/* module-blacklist: keep kernel modules (nouveau) from loading at the next boot. Writes a modprobe.d
 * file (`blacklist <module>`, and `options nouveau modeset=0` for nouveau), then rebuilds the
 * initramfs, which loads nouveau before the root file system is there: without the rebuild the
 * blacklist would not stop it, and the plan's one reboot would come back with nouveau holding the
 * GPU. The probe compares the file and checks that no initramfs image is older than it, so an
 * attempt cut off between the write and the rebuild is finished on resume.
 *
 * A plan with this step for nouveau, followed by a reboot step, fixes a loaded nouveau itself: the
 * `nouveau` check reports it as such before that reboot, and fails after it (checks/system.c). */
#include <ctype.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "host/initramfs.h"
#include "steps/steps.h"

typedef struct BlacklistParams {
        char **modules;
        char *path;
        char *content;
        bool initramfs;
} BlacklistParams;

static const char *const blacklist_keys[] = {"modules", "path", "initramfs", NULL};

static void params_free(void *p) {
        BlacklistParams *b = p;
        strv_free(b->modules);
        free(b->path);
        free(b->content);
        free(b);
}

static bool has_suffix(const char *s, const char *suffix) {
        size_t n = strlen(s), m = strlen(suffix);
        return n >= m && streq(s + n - m, suffix);
}

static bool blacklists(const BlacklistParams *b, const char *module) {
        for (size_t i = 0; b->modules[i]; i++)
                if (streq(b->modules[i], module))
                        return true;
        return false;
}

static bool module_name_ok(const char *m) {
        if (!*m)
                return false;
        for (const char *c = m; *c; c++)
                if (!(isalnum((unsigned char) *c) || *c == '_' || *c == '-'))
                        return false;
        return true;
}

static int blacklist_parse(Step *s, const YNode *map, ParseCtx *pc) {
        BlacklistParams *b = xcalloc(1, sizeof *b);
        const YNode *v;
        s->params = b;
        b->initramfs = true;
        _cleanup_free_ char *what = xasprintf("step '%s' (kind module-blacklist)", s->id);
        if (schema_require(pc, map, "modules", what, &v) < 0 || schema_strv(pc, v, "modules", true, &b->modules) < 0)
                return -EINVAL;
        if (!b->modules[0]) {
                src_error_set(pc->err, pc->file, v, "modules must name at least one kernel module");
                return -EINVAL;
        }
        for (size_t i = 0; b->modules[i]; i++)
                if (!module_name_ok(b->modules[i])) {
                        src_error_set(pc->err, pc->file, v, "'%s' is not a kernel module name", b->modules[i]);
                        return -EINVAL;
                }
        if ((v = ynode_get(map, "path"))) {
                if (schema_abs_path(pc, v, "path", &b->path) < 0)
                        return -EINVAL;
        } else
                b->path = xasprintf("/etc/modprobe.d/blacklist-%s.conf", b->modules[0]);
        if (!startswith(b->path, "/etc/modprobe.d/") || !has_suffix(b->path, ".conf")) {
                src_error_set(pc->err, pc->file, v ? v : map, "path must be a .conf file in /etc/modprobe.d (modprobe reads no other), found '%s'",
                              b->path);
                return -EINVAL;
        }
        if ((v = ynode_get(map, "initramfs")) && schema_bool(pc, v, "initramfs", &b->initramfs) < 0)
                return -EINVAL;
        Buf c = {0};
        for (size_t i = 0; b->modules[i]; i++) {
                buf_printf(&c, "blacklist %s\n", b->modules[i]);
                if (streq(b->modules[i], "nouveau"))
                        buf_puts(&c, "options nouveau modeset=0\n");
        }
        b->content = buf_steal(&c);
        return 0;
}

static void blacklist_declare(const Step *s, PlanIntent *in) {
        const BlacklistParams *b = s->params;
        if (in->nouveau_blacklist_step || !b->initramfs || !blacklists(b, "nouveau"))
                return;
        in->nouveau_blacklist_step = xstrdup(s->id);
}

/* PROBE_SATISFIED when the file is as wanted; PROBE_NEEDED with *ret_detail saying what differs;
 * -errno with *reterr. */
static int file_state(const BlacklistParams *b, Ctx *ctx, char **ret_detail, char **reterr) {
        _cleanup_free_ char *p = host_path(ctx->host, b->path), *data = NULL;
        struct stat st;
        size_t len = 0;
        if (lstat(p, &st) < 0) {
                *ret_detail = xasprintf("%s is missing", b->path);
                return PROBE_NEEDED;
        }
        if (!S_ISREG(st.st_mode)) {
                *ret_detail = xasprintf("%s is not a regular file", b->path);
                return PROBE_NEEDED;
        }
        int r = read_file(p, 1024 * 1024, &data, &len);
        if (r < 0)
                return errorf(reterr, r, "cannot read %s: %s", b->path, strerror(-r));
        if (len != strlen(b->content) || memcmp(data, b->content, len) != 0 || (st.st_mode & 07777) != 0644) {
                *ret_detail = xasprintf("%s has other content or mode", b->path);
                return PROBE_NEEDED;
        }
        return PROBE_SATISFIED;
}

/* Does every initramfs image carry the file? A ProbeResult with *ret_detail, or -errno with *reterr. */
static int initramfs_state(const BlacklistParams *b, Ctx *ctx, char **ret_detail, char **reterr) {
        unsigned total = 0, stale_n = 0;
        _cleanup_free_ char *stale = NULL;
        int r = initramfs_images(ctx->host, b->path, &total, &stale_n, &stale);
        if (r < 0)
                return errorf(reterr, r, "cannot list the initramfs images in /boot: %s", strerror(-r));
        if (stale_n > 0) {
                *ret_detail = xasprintf("%s is older than %s (%u of %u image%s): it does not carry the blacklist", stale,
                                        b->path, stale_n, total, total == 1 ? "" : "s");
                return PROBE_NEEDED;
        }
        *ret_detail = total ? xasprintf("%s is in place and the initramfs (%u image%s) carries it", b->path, total,
                                        total == 1 ? "" : "s")
                            : xasprintf("%s is in place (no initramfs image in /boot)", b->path);
        return PROBE_SATISFIED;
}

static int blacklist_probe(const Step *s, Ctx *ctx, char **ret_detail, char **reterr) {
        const BlacklistParams *b = s->params;
        _cleanup_free_ char *why = NULL;
        int r = file_state(b, ctx, &why, reterr);
        if (r < 0)
                return r;
        if (r != PROBE_SATISFIED) {
                *ret_detail = TAKE_PTR(why);
                return r;
        }
        if (!b->initramfs) {
                *ret_detail = xasprintf("%s is up to date", b->path);
                return r;
        }
        return initramfs_state(b, ctx, ret_detail, reterr);
}

static int blacklist_apply(const Step *s, Ctx *ctx, char **ret_detail, char **reterr) {
        const BlacklistParams *b = s->params;
        _cleanup_free_ char *p = host_path(ctx->host, b->path), *why = NULL;
        int r = file_state(b, ctx, &why, reterr);
        if (r < 0)
                return r;
        bool wrote = false;
        if (r == PROBE_NEEDED) {
                r = mkdir_parents(p, 0755);
                if (r < 0)
                        return errorf(reterr, r, "cannot create the directory of %s: %s", b->path, strerror(-r));
                remove_stale_temp_files(p); /* from an earlier attempt that was killed mid-write */
                r = write_file_atomic(p, b->content, strlen(b->content), 0644);
                if (r < 0)
                        return errorf(reterr, r, "cannot write %s: %s", b->path, write_strerror(r));
                wrote = true;
        }
        if (!b->initramfs) {
                *ret_detail = xasprintf("wrote %s", b->path);
                return 0;
        }
        unsigned total = 0, stale_n = 0;
        r = initramfs_images(ctx->host, b->path, &total, &stale_n, NULL);
        if (r < 0)
                return errorf(reterr, r, "cannot list the initramfs images in /boot: %s", strerror(-r));
        if (stale_n == 0) {
                *ret_detail = xasprintf("%s %s%s", wrote ? "wrote" : "kept", b->path,
                                        total ? "" : " (no initramfs image in /boot to update)");
                return 0;
        }
        _cleanup_free_ char *err = NULL;
        r = host_update_initramfs(ctx->host, &err);
        if (r < 0)
                return errorf(reterr, r, "%s %s, but the initramfs could not be rebuilt (%s): without it the blacklist "
                              "does not take effect at boot; fix that, then `gpubase resume`",
                              wrote ? "wrote" : "kept", b->path, err ? err : strerror(-r));
        *ret_detail = xasprintf("%s %s and rebuilt the initramfs (update-initramfs -u -k all%s)", wrote ? "wrote" : "kept",
                                b->path, ctx->host->image ? ", in the image" : host_is_rooted(ctx->host) ? ", recorded under --root" : "");
        return 0;
}

static char *blacklist_describe(const Step *s) {
        const BlacklistParams *b = s->params;
        _cleanup_free_ char *mods = strv_join(b->modules, ", ");
        return xasprintf("blacklist %s in %s%s", mods, b->path, b->initramfs ? ", then update-initramfs -u -k all" : "");
}

const StepKind step_module_blacklist = {
        .name = "module-blacklist",
        .summary = "keep kernel modules (nouveau) from loading at the next boot: modprobe.d blacklist and initramfs",
        .keys = blacklist_keys,
        .parse = blacklist_parse,
        .free_params = params_free,
        .probe = blacklist_probe,
        .apply = blacklist_apply,
        .describe = blacklist_describe,
        .declare = blacklist_declare,
};
