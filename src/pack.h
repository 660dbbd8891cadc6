/*
 * Format-string packing (pack.c), shared by the supervisor and the
 * workers.
 */
#ifndef PROCQ_PACK_H
#define PROCQ_PACK_H

int procq_format_count(const char *fmt);

#endif
