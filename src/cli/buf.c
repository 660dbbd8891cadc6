/* A growable byte buffer. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int
buf_append(struct buf *b, const void *p, size_t len)
{
	if (len > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 256;
		char *data;

		while (cap - b->len < len) {
			if (cap > SIZE_MAX / 2) {
				errno = ENOMEM;
				return -1;
			}
			cap *= 2;
		}
		if ((data = realloc(b->data, cap)) == NULL)
			return -1;
		b->data = data;
		b->cap = cap;
	}
	if (len > 0)
		memcpy(b->data + b->len, p, len);
	b->len += len;
	return 0;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	memset(b, 0, sizeof *b);
}
