/* file-exists: PATH and file-contains: {path, text}, both taken under --root. */
#include <string.h>
#include <sys/stat.h>

#include "checks/checks.h"

typedef struct FileContains {
        char *path, *text;
} FileContains;

static int file_exists_parse(CheckSpec *c, const YNode *param, ParseCtx *pc) {
        char *path = NULL;
        if (schema_abs_path(pc, param, "file-exists", &path) < 0)
                return -EINVAL;
        c->params = path;
        return 0;
}

static void file_exists_run(const CheckSpec *c, Ctx *ctx, CheckResult *ret) {
        const char *path = c->params;
        _cleanup_free_ char *p = host_path(ctx->host, path);
        struct stat st;
        if (stat(p, &st) < 0) {
                int e = errno;
                check_result_set(ret, CHECK_FAIL, xasprintf("%s: %s", path, strerror(e)),
                                 xasprintf("make sure an earlier step creates %s", path));
                return;
        }
        check_result_set(ret, CHECK_OK, xasprintf("%s exists", path), NULL);
}

const CheckKind check_file_exists = {
        .name = "file-exists",
        .summary = "a file or directory exists",
        .param = CHECK_PARAM_REQUIRED,
        .parse = file_exists_parse,
        .free_params = free,
        .run = file_exists_run,
};

static void file_contains_free(void *p) {
        FileContains *f = p;
        free(f->path);
        free(f->text);
        free(f);
}

static const char *const file_contains_keys[] = {"path", "text", NULL};

static int file_contains_parse(CheckSpec *c, const YNode *param, ParseCtx *pc) {
        const YNode *v;
        FileContains *f = xcalloc(1, sizeof *f);
        c->params = f;
        if (schema_map(pc, param, "file-contains") < 0 || schema_keys(pc, param, "file-contains", file_contains_keys) < 0)
                return -EINVAL;
        if (schema_require(pc, param, "path", "file-contains", &v) < 0 ||
            schema_abs_path(pc, v, "file-contains path", &f->path) < 0)
                return -EINVAL;
        if (schema_require(pc, param, "text", "file-contains", &v) < 0 ||
            schema_string(pc, v, "file-contains text", &f->text) < 0)
                return -EINVAL;
        return 0;
}

static void file_contains_run(const CheckSpec *c, Ctx *ctx, CheckResult *ret) {
        const FileContains *f = c->params;
        _cleanup_free_ char *p = host_path(ctx->host, f->path);
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r = read_file(p, 16 * 1024 * 1024, &data, &len);
        if (r < 0) {
                check_result_set(ret, CHECK_FAIL, xasprintf("cannot read %s: %s", f->path, strerror(-r)),
                                 xasprintf("make sure an earlier step writes %s", f->path));
                return;
        }
        if (!memmem(data, len, f->text, strlen(f->text))) {
                check_result_set(ret, CHECK_FAIL, xasprintf("%s does not contain \"%s\"", f->path, f->text),
                                 xasprintf("check what writes %s", f->path));
                return;
        }
        check_result_set(ret, CHECK_OK, xasprintf("%s contains \"%s\"", f->path, f->text), NULL);
}

const CheckKind check_file_contains = {
        .name = "file-contains",
        .summary = "a file contains a text",
        .param = CHECK_PARAM_REQUIRED,
        .parse = file_contains_parse,
        .free_params = file_contains_free,
        .run = file_contains_run,
};
