/*
 * --results DIR: the directory of a job's files, as GNU parallel names
 * it: DIR/NAME1/VALUE1/NAME2/VALUE2..., a level per source or column,
 * named by its number, or by its column name with --header.  As there,
 * the levels go in the order of their names, numbers first by value,
 * then the others by their bytes; a value's \, tab and / are written
 * \\, \t and \_, a name is written as it is.  With several records per
 * job, each record's levels the same way, one after the other.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The name of column col (from 1) of a record: its header's, or its
 * number. */
static const char *
results_name(size_t col, char *num, size_t len)
{
	char *const *names;
	size_t n;

	names = template_names(&n);
	if (col <= n)
		return names[col - 1];
	snprintf(num, len, "%zu", col);
	return num;
}

/* A name as a number, as perl reads one: what starts it, else 0. */
static double
results_number(const char *s)
{
	const char *p = s;
	char *end;

	while (isspace((unsigned char)*p))
		p++;
	p += *p == '+' || *p == '-';
	if (!isdigit((unsigned char)*p) &&
	    !(*p == '.' && isdigit((unsigned char)p[1])))
		return 0;
	return strtod(s, &end);
}

/* perl's sort { $a <=> $b or $a cmp $b } of the columns' names. */
static int
results_compare(size_t a, size_t b)
{
	char na[32], nb[32];
	const char *x = results_name(a, na, sizeof na);
	const char *y = results_name(b, nb, sizeof nb);
	double u = results_number(x), v = results_number(y);

	if (u != v)
		return u < v ? -1 : 1;
	return strcmp(x, y);
}

static int
results_value(struct buf *b, const char *s)
{
	int rc = 0;

	for (; rc == 0 && *s != '\0'; s++) {
		if (*s == '\\')
			rc = buf_append(b, "\\\\", 2);
		else if (*s == '\t')
			rc = buf_append(b, "\\t", 2);
		else if (*s == '/')
			rc = buf_append(b, "\\_", 2);
		else
			rc = buf_append(b, s, 1);
	}
	return rc;
}

/* The levels of the record of the n values at v. */
static int
results_record(struct buf *b, char *const *v, size_t n)
{
	size_t *order = malloc((n > 0 ? n : 1) * sizeof *order);
	char num[32];
	const char *name;
	int rc = 0;

	if (order == NULL)
		return -1;
	/* Stable: columns of the same name keep their order. */
	for (size_t i = 0; i < n; i++) {
		size_t k = i;

		for (; k > 0 && results_compare(order[k - 1], i + 1) > 0; k--)
			order[k] = order[k - 1];
		order[k] = i + 1;
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		name = results_name(order[i], num, sizeof num);
		rc = buf_append(b, "/", 1) != 0 ||
			buf_append(b, name, strlen(name)) != 0 ||
			buf_append(b, "/", 1) != 0 ?
		    -1 :
		    results_value(b, v[order[i] - 1]);
	}
	free(order);
	return rc;
}

char *
results_dir(const char *dir, const struct job *j)
{
	struct buf b = { 0 };
	size_t rec = 0, first = 0, width;
	char num[32];
	int rc;

	rc = buf_append(&b, dir, strlen(dir));
	while (rc == 0 && first < j->nargs) {
		width = j->widths != NULL && rec < j->nwidths ?
		    j->widths[rec++] :
		    j->nargs - first;
		if (width > j->nargs - first)
			width = j->nargs - first;
		rc = results_record(&b, j->args + first, width);
		first += width;
	}
	if (rc == 0 && j->nargs == 0) { /* --pipe: the block's number */
		snprintf(num, sizeof num, "/1/%zu", j->seq);
		rc = buf_append(&b, num, strlen(num));
	}
	if (rc == 0)
		rc = buf_append(&b, "", 1);
	if (rc != 0) {
		buf_free(&b);
		return NULL;
	}
	return b.data;
}
