/* A YAML document as a small tree of scalars, maps and sequences, every node carrying the
 * line:column it came from so that every later error can point at it. Anchors, aliases, tags
 * and multiple documents are refused: plans do not need them and aliases make expansion
 * unbounded. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

typedef enum YNodeType {
        YNODE_SCALAR,
        YNODE_MAP,
        YNODE_SEQ,
} YNodeType;

typedef struct YNode YNode;
typedef struct YPair {
        YNode *key; /* always a scalar */
        YNode *value;
} YPair;

struct YNode {
        YNodeType type;
        unsigned line, col; /* 1-based */
        char *value;        /* scalars */
        bool plain;         /* scalar written without quotes */
        size_t n;           /* number of items or pairs */
        YNode **items;      /* sequences */
        YPair *pairs;       /* maps, in document order */
};

/* A message tied to a place in a file. */
typedef struct SrcError {
        char *file;
        unsigned line, col;
        char *msg;
} SrcError;

void src_error_set(SrcError *e, const char *file, const YNode *at, const char *fmt, ...) _printf_(4, 5);
void src_error_set_at(SrcError *e, const char *file, unsigned line, unsigned col, const char *fmt, ...)
        _printf_(5, 6);
void src_error_done(SrcError *e);
/* "file:line:col: msg" */
char *src_error_format(const SrcError *e);

#define YNODE_MAX_DEPTH 64

int ynode_parse(const char *file, const char *text, size_t len, YNode **ret, SrcError *reterr);
YNode *ynode_free(YNode *n);
DEFINE_TRIVIAL_CLEANUP_FUNC(YNode *, ynode_free)

const char *ynode_type_name(const YNode *n);
const YNode *ynode_get(const YNode *map, const char *key);
/* A scalar that reads as YAML null (~, null, empty plain). */
bool ynode_is_null(const YNode *n);

/* Canonical one-line rendering (JSON-like, keys in document order), used for digests and `plan show`. */
void ynode_dump(const YNode *n, Buf *b);
