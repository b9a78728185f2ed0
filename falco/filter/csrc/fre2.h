/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fre2: a C interface to RE2 for cffi, with the options libs uses for the
 * filter language's `regex` operator (POSIX syntax, leftmost-longest),
 * matched against the whole value (anchored at both ends).
 */
#ifndef FRE2_H
#define FRE2_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct fre2;

/*
 * Compile `pattern` (`len` bytes, UTF-8). Returns NULL on error, with the
 * reason in `err` (NUL-terminated, at most `errlen` bytes).
 */
struct fre2 *fre2_compile(const char *pattern, size_t len, char *err,
			  size_t errlen);

/* 1 if the whole of `text` (`len` bytes) matches, else 0. */
int fre2_full_match(const struct fre2 *re, const char *text, size_t len);

void fre2_free(struct fre2 *re);

#ifdef __cplusplus
}
#endif

#endif /* FRE2_H */
