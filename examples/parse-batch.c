/*
 * parse-batch: run a buggy parser over a batch of documents without letting
 * its bugs take this program down.
 *
 * The documents use a tiny "key=value" format, one field per line, where a
 * line ending in a backslash continues on the next one and "items" holds a
 * nested list such as [1,[2,3]].  The parser below has three real bugs, the
 * kind a parser of untrusted input tends to have: it dereferences NULL when
 * a document lacks its "amount", loops forever on a continuation at the very
 * end of a document, and recurses without limit into nested lists.
 *
 * Each document is parsed by a procq task in a worker process, with a
 * timeout per attempt and one retry.  A document that crashes or hangs its
 * worker fails alone; the program reports which inputs broke the parser and
 * how, and totals the good ones.
 *
 * Usage: parse-batch [SECONDS]   the timeout per attempt (default 0.4)
 */
#define _GNU_SOURCE		/* strchrnul, asprintf */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <procq.h>

#define NDOCS		20
#define TIMEOUT		0.4	/* seconds per attempt, by default */
#define DEEP		2000000	/* nesting of the deep document */

/* Worker side: the parser, bugs included. */

struct field {
	const char *key, *value;	/* NUL-terminated, in the copy */
};

/* The end of the logical line at p: a trailing backslash continues it. */
static char *
line_end(char *p)
{
	char *e = p;

	for (;;) {
		e = strchrnul(e, '\n');
		if (e == p || e[-1] != '\\')
			return e;
		/* BUG: at the end of the text *e is '\0' and e never moves. */
		if (*e == '\n')
			e++;
	}
}

/* Count the numbers of a list like [1,[2,3]]; *pp moves past it. */
static long
count_items(const char **pp)
{
	long n = 0;

	(*pp)++;			/* the '[' */
	while (**pp != '\0' && **pp != ']') {
		if (**pp == '[')	/* BUG: no limit on the depth */
			n += count_items(pp);
		else if (isdigit((unsigned char)**pp)) {
			while (isdigit((unsigned char)**pp))
				(*pp)++;
			n++;
		} else
			(*pp)++;	/* a comma */
	}
	if (**pp == ']')
		(*pp)++;
	return n;
}

static const struct field *
find(const struct field *f, int n, const char *key)
{
	for (int i = 0; i < n; i++)
		if (strcmp(f[i].key, key) == 0)
			return &f[i];
	return NULL;
}

/* Task "parse": args [text]; returns [items, amount]. */
static int
parse_task(procq_call *c)
{
	struct field f[16];
	const struct field *items;
	const char *list;
	char *copy, *p, *e, *eq;
	int n = 0, line = 0;
	double amount;
	long count = 0;

	/* "s": a NUL-terminated copy, which the parser wants. */
	if (procq_call_unpack(c, "s", &copy) != 0 || copy == NULL)
		return procq_call_fail(c, "ArgumentError", "expected [str]");
	p = copy;
	while (*p != '\0' && n < 16) {
		e = line_end(p);
		line++;
		if ((eq = memchr(p, '=', (size_t)(e - p))) == NULL) {
			free(copy);
			return procq_call_fail(c, "ParseError",
			    "line %d: expected key=value", line);
		}
		*eq = '\0';
		f[n++] = (struct field){ p, eq + 1 };
		p = *e != '\0' ? e + 1 : e;
		*e = '\0';
	}
	/* BUG: assumes every document has an amount. */
	amount = strtod(find(f, n, "amount")->value, NULL);
	if ((items = find(f, n, "items")) != NULL) {
		list = items->value;
		count = count_items(&list);
	}
	free(copy);
	return procq_call_return(c, "ld", (int64_t)count, amount);
}

/* Document i; returns a malloc'd string.  Four of them hit the bugs. */
static char *
make_doc(int i)
{
	static const char deep[] = "id=13\namount=1\nitems=";
	char *doc;

	switch (i) {
	case 4:		/* no amount: a NULL dereference */
		return strdup("id=4\ncustomer=delta\nitems=[1,2]\n");
	case 9:		/* a continuation at the very end: endless loop */
		return strdup("id=9\namount=3.50\nnote=to be continued \\");
	case 13:	/* 2,000,000 nested lists: a stack overflow */
		if ((doc = malloc(sizeof deep + DEEP)) == NULL)
			return NULL;
		memcpy(doc, deep, sizeof deep - 1);
		memset(doc + sizeof deep - 1, '[', DEEP);
		doc[sizeof deep - 1 + DEEP] = '\0';
		return doc;
	case 16:	/* a line without '=': the parser reports it */
		return strdup("id=16\namount=2\nthis line is wrong\n");
	}
	if (asprintf(&doc, "id=%d\ncustomer=c%d\namount=%d.25\n"
	    "items=[%d,[%d,%d]]\n", i, i, 10 + i, i, i + 1, i + 2) < 0)
		return NULL;
	return doc;
}

int
main(int argc, char **argv)
{
	procq_config config = { .workers = 4 };
	/* Every kind of failure is retried, a ParseError too: procq cannot
	 * tell which ones might go away. */
	procq_opts opts = { .timeout = argc > 1 ? atof(argv[1]) : TIMEOUT,
	    .retries = 1 };
	procq_handle *h[NDOCS];
	procq_queue *q;
	double amount, total = 0;
	int64_t n, items = 0;
	int err, good = 0, bad = 0;

	if (!(opts.timeout > 0)) {
		fprintf(stderr, "usage: parse-batch [SECONDS]: the timeout per "
		    "attempt must be a positive number\n");
		return 2;
	}
	/* The crashes are expected: leave no core files behind. */
	setrlimit(RLIMIT_CORE, &(struct rlimit){ 0, 0 });
	if ((q = procq_create(&config, &err)) == NULL ||
	    (err = procq_register(q, "parse", parse_task)) != 0)
		goto out;
	for (int i = 0; i < NDOCS && err == 0; i++) {
		char name[16], *doc = make_doc(i);

		snprintf(name, sizeof name, "doc-%02d", i);
		opts.name = name;	/* procq copies it */
		err = doc == NULL ? PROCQ_ENOMEM : procq_submitf(q, "parse",
		    &opts, &h[i], "S", doc, strlen(doc));
		free(doc);		/* procq packed its own copy */
	}
	if (err != 0)
		goto out;
	printf("parse-batch: %d documents, %.1f s per attempt, %d retry\n",
	    NDOCS, opts.timeout, opts.retries);
	fflush(stdout);		/* before procq_run() forks workers */
	if ((err = procq_run(q, NULL, NULL)) != 0)
		goto out;

	/* The handles, in input order: the queue keeps their results. */
	for (int i = 0; i < NDOCS; i++) {
		if (procq_handle_value(h[i], "ld", &n, &amount) == 0) {
			items += n;
			total += amount;
			good++;
			continue;
		}
		/* The kind says how it broke; type and message say more. */
		printf("  %-7s %-8s %d attempts  %s: %s\n",
		    procq_handle_name(h[i]),
		    procq_error_kind_name(procq_handle_error_kind(h[i])),
		    procq_handle_attempts(h[i]), procq_handle_error_type(h[i]),
		    procq_handle_error_message(h[i]));
		bad++;
	}
	printf("%d documents broke the parser\n", bad);
	printf("%d documents parsed: %lld items, total amount %.2f\n", good,
	    (long long)items, total);
out:
	if (err != 0)
		fprintf(stderr, "parse-batch: %s\n", procq_strerror(err));
	procq_free(q);		/* stops the workers, frees the handles */
	return err == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
