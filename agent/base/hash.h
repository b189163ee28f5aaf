/* Digests as lowercase hex: SHA-256 (plans, bundles, checkpoints) and MD5 (dpkg's md5sums).
 * Files are read in blocks, never whole. Base layer: knows nothing of gpubase. */
#pragma once

#include <stddef.h>

/* n bytes -> 2n lowercase hex digits and a NUL in ret. */
void hex_encode(const unsigned char *data, size_t n, char *ret);

void sha256_hex(const void *data, size_t len, char ret[65]);
/* Of a file's content; a negative errno when it cannot be read. */
int sha256_file_hex(const char *path, char ret[65]);
int md5_file_hex(const char *path, char ret[33]);
