/*
 * The items: the words after :::, or the lines (NUL-terminated records
 * with -0) of --arg-file or of standard input.  All of them are read
 * before any job starts.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int
items_push(struct items *it, char *item)
{
	if (it->n == it->cap) {
		size_t cap = it->cap ? it->cap * 2 : 64;
		char **v = realloc(it->v, cap * sizeof *v);

		if (v == NULL)
			return -1;
		it->v = v;
		it->cap = cap;
	}
	it->v[it->n++] = item;
	return 0;
}

static int
items_read(FILE *fp, int delim, struct items *it)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	char *item;

	while ((len = getdelim(&line, &cap, delim, fp)) >= 0) {
		if (len > 0 && line[len - 1] == delim)
			line[--len] = '\0';
		if ((item = strdup(line)) == NULL || items_push(it, item) != 0) {
			free(item);
			free(line);
			errno = ENOMEM;
			return -1;
		}
	}
	free(line);
	return ferror(fp) ? -1 : 0;
}

int
items_load(const struct cli_opts *o, struct items *it)
{
	FILE *fp = stdin;
	char *item;
	int rc;

	memset(it, 0, sizeof *it);
	if (o->have_items) {
		for (int i = 0; i < o->nitems; i++) {
			if ((item = strdup(o->items[i])) == NULL ||
			    items_push(it, item) != 0) {
				free(item);
				usage_error("out of memory");
				return -1;
			}
		}
		return 0;
	}
	if (o->arg_file != NULL && (fp = fopen(o->arg_file, "r")) == NULL) {
		usage_error("cannot read items from '%s': %s", o->arg_file,
		    strerror(errno));
		return -1;
	}
	rc = items_read(fp, o->null_sep ? '\0' : '\n', it);
	if (rc != 0 && o->arg_file != NULL)
		usage_error("cannot read items from '%s': %s", o->arg_file,
		    strerror(errno));
	else if (rc != 0)
		usage_error("cannot read items from the standard input: %s",
		    strerror(errno));
	if (fp != stdin)
		fclose(fp);
	return rc;
}

void
items_free(struct items *it)
{
	for (size_t i = 0; i < it->n; i++)
		free(it->v[i]);
	free(it->v);
	memset(it, 0, sizeof *it);
}
