/* file: a file with exact content and mode (e.g. a modprobe blacklist for nouveau), written
 * atomically. The probe compares content and mode, so a drifted file is put back on a rerun. */
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "steps/steps.h"

typedef struct FileParams {
        char *path, *content;
        unsigned mode;
} FileParams;

static const char *const file_keys[] = {"path", "content", "mode", NULL};

static void file_free(void *p) {
        FileParams *f = p;
        free(f->path);
        free(f->content);
        free(f);
}

static int file_parse(Step *s, const YNode *map, ParseCtx *pc) {
        FileParams *f = xcalloc(1, sizeof *f);
        const YNode *v;
        s->params = f;
        f->mode = 0644;
        _cleanup_free_ char *what = xasprintf("step '%s' (kind file)", s->id);
        if (schema_require(pc, map, "path", what, &v) < 0 || schema_abs_path(pc, v, "path", &f->path) < 0)
                return -EINVAL;
        if (schema_require(pc, map, "content", what, &v) < 0)
                return -EINVAL;
        if (v->type != YNODE_SCALAR) {
                src_error_set(pc->err, pc->file, v, "content must be a string (use a | block for several lines), found a %s",
                              ynode_type_name(v));
                return -EINVAL;
        }
        f->content = xstrdup(v->value);
        if ((v = ynode_get(map, "mode"))) {
                _cleanup_free_ char *m = NULL;
                if (schema_string(pc, v, "mode", &m) < 0)
                        return -EINVAL;
                if (parse_mode(m, &f->mode) < 0) {
                        src_error_set(pc->err, pc->file, v, "mode must be octal digits like \"0644\", found '%s'", m);
                        return -EINVAL;
                }
        }
        return 0;
}

static int file_probe(const Step *s, Ctx *ctx, char **ret_detail, char **reterr) {
        const FileParams *f = s->params;
        _cleanup_free_ char *p = host_path(ctx->host, f->path);
        _cleanup_free_ char *data = NULL;
        size_t len;
        struct stat st;

        if (lstat(p, &st) < 0) {
                *ret_detail = xasprintf("%s is missing", f->path);
                return PROBE_NEEDED;
        }
        if (!S_ISREG(st.st_mode)) {
                *ret_detail = xasprintf("%s is not a regular file", f->path);
                return PROBE_NEEDED;
        }
        int r = read_file(p, 64 * 1024 * 1024, &data, &len);
        if (r < 0)
                return errorf(reterr, r, "cannot read %s: %s", f->path, strerror(-r));
        if (len != strlen(f->content) || memcmp(data, f->content, len) != 0) {
                *ret_detail = xasprintf("%s has other content", f->path);
                return PROBE_NEEDED;
        }
        if ((st.st_mode & 07777) != f->mode) {
                *ret_detail = xasprintf("%s has mode %04o, want %04o", f->path, st.st_mode & 07777, f->mode);
                return PROBE_NEEDED;
        }
        *ret_detail = xasprintf("%s is up to date", f->path);
        return PROBE_SATISFIED;
}

static int file_apply(const Step *s, Ctx *ctx, char **ret_detail, char **reterr) {
        const FileParams *f = s->params;
        _cleanup_free_ char *p = host_path(ctx->host, f->path);
        int r = mkdir_parents(p, 0755);
        if (r < 0)
                return errorf(reterr, r, "cannot create the directory of %s: %s", f->path, strerror(-r));
        remove_stale_temp_files(p); /* from an earlier attempt that was killed mid-write */
        r = write_file_atomic(p, f->content, strlen(f->content), f->mode);
        if (r < 0)
                return errorf(reterr, r, "cannot write %s: %s", f->path, write_strerror(r));
        *ret_detail = xasprintf("wrote %s (%zu bytes, mode %04o)", f->path, strlen(f->content), f->mode);
        return 0;
}

static char *file_describe(const Step *s) {
        const FileParams *f = s->params;
        return xasprintf("write %s (%zu bytes, mode %04o)", f->path, strlen(f->content), f->mode);
}

const StepKind step_file = {
        .name = "file",
        .summary = "a file with exact content and mode, written atomically",
        .keys = file_keys,
        .parse = file_parse,
        .free_params = file_free,
        .probe = file_probe,
        .apply = file_apply,
        .describe = file_describe,
};
