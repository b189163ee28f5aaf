/* Typed reads from the YAML tree with messages that name file:line:col and what was expected.
 * Every function returns 0 or -EINVAL with the error recorded in pc->err. */
#pragma once

#include "base/ynode.h"

typedef struct ParseCtx {
        const char *file;
        SrcError *err;
        char ***env_values; /* where schema_env() adds every value it reads (the plan's list), or NULL */
} ParseCtx;

/* Refuses keys of a map not in allowed (NULL-terminated), listing the allowed ones. */
int schema_keys(ParseCtx *pc, const YNode *map, const char *what, const char *const *allowed);
int schema_require(ParseCtx *pc, const YNode *map, const char *key, const char *what, const YNode **ret);
int schema_map(ParseCtx *pc, const YNode *n, const char *what);
int schema_string(ParseCtx *pc, const YNode *n, const char *what, char **ret);
/* A non-empty list of strings (or, if allow_scalar, a single string as a one-element list). */
int schema_strv(ParseCtx *pc, const YNode *n, const char *what, bool allow_scalar, char ***ret);
int schema_uint(ParseCtx *pc, const YNode *n, const char *what, unsigned min, unsigned max, unsigned *ret);
int schema_bool(ParseCtx *pc, const YNode *n, const char *what, bool *ret);
/* A map of NAME: VALUE strings, returned as NAME=VALUE entries; each VALUE is also added to
 * pc->env_values (the report redacts them). */
int schema_env(ParseCtx *pc, const YNode *n, const char *what, char ***ret);
/* An absolute path that names a file: no "." or ".." component, not "/" and no trailing "/"
 * (the message says so, with the fix). */
int schema_abs_path(ParseCtx *pc, const YNode *n, const char *what, char **ret);
/* A file the plan reads (apt-source key_file, apt-keyring-deb path): a path relative to the plan's
 * directory, or an absolute path as schema_abs_path() takes it. Where it is read: ctx_input_path(). */
int schema_input_path(ParseCtx *pc, const YNode *n, const char *what, char **ret);
