/*
 * JSON strings: what procq_summary_json() and procq(1) write.  The text is
 * UTF-8; a byte that is not part of a valid sequence becomes U+FFFD, and a
 * NULL C string becomes null.
 */
#ifndef PROCQ_JSONSTR_H
#define PROCQ_JSONSTR_H

#include <stddef.h>
#include <stdio.h>

void json_string(FILE *fp, const char *s, size_t len);
void json_cstring(FILE *fp, const char *s);

#endif
