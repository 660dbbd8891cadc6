/*
 * Templates: GNU parallel's replacement strings.
 *
 *	{}	the values, joined by spaces
 *	{.}	without the extension		{/}	the basename
 *	{//}	the dirname			{/.}	basename, no extension
 *	{#}	the job's sequence number	{%}	its job slot
 *	{N}	the Nth value (source or column), {N.} {N/} {N//} {N/.} too;
 *		{-N} the Nth from the last
 *
 * The set is the run's (rs_set): -I and the like rename the strings above,
 * --header adds the column names ({name} {name.}...), and --plus the
 * strings of plus.c.  A renamed string need not start with a brace.
 *
 * Any other text between braces means itself.  A command gets the values
 * in place of its replacement strings, or as its last arguments when it
 * has none.  As in GNU parallel, the words are joined by spaces into a
 * line for the shell, each value quoted so that it stays one word; when
 * shell.c finds the shell would change nothing, or with --no-shell, the
 * words are executed as they are, and a word that is exactly {} becomes
 * one word per value.
 *
 * The job slot is known only in the worker that runs the job: the
 * command carries the places where it goes (runner.c).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

enum rs_kind {
	RS_NONE,
	RS_VALUES,
	RS_VALUE,
	RS_SEQ,
	RS_SLOT,
	RS_TOTAL,	/* --plus {##} */
	RS_SEQ0,	/* --plus {0#} */
	RS_SLOT0,	/* --plus {0%} */
	RS_REFUSED	/* --plus strings of remote hosts */
};

/* One replacement string, as parsed. */
struct rs {
	enum rs_kind kind;
	struct edit edit;
	size_t n;   /* RS_VALUE: from 1 */
	bool from_end; /* RS_VALUE: {-n}, the nth from the last */
	size_t len; /* of the text, braces included */
};

/* The set of replacement strings of the run: renamed by -I and the like,
 * extended by --plus, and by the column names of --header. */
static struct {
	const char *names[RSN_SLOT + 1];
	bool plus;
	char *const *columns; /* --header */
	size_t ncolumns;
	size_t total; /* {##}: the number of jobs */
	bool wants_total;
	uint32_t slot_width; /* {0%}: the digits of the most slots */
	bool choose_k;
	bool uniq;
} rs_set = { .names = { "{}", "{.}", "{/}", "{//}", "{/.}", "{#}", "{%}" } };

static const enum edit_op rs_name_edit[] = {
	[RSN_VALUES] = EDIT_NONE,
	[RSN_NOEXT] = EDIT_NOEXT,
	[RSN_BASE] = EDIT_BASE,
	[RSN_DIR] = EDIT_DIR,
	[RSN_BASE_NOEXT] = EDIT_BASE_NOEXT,
};

/* One word of a command being composed.  A word that replacement strings
 * alone left empty (a missing {3}, {} of a job with no values) is no
 * word at all, as an unquoted empty string is none to the shell. */
struct word {
	struct buf b;
	bool has_rs; /* a replacement string went into it */
	bool real;   /* text, or a value (even an empty one) */
};

struct compose {
	const struct job *j;
	bool quote;
	bool shell;	/* one script: context groups end at blanks */
	bool keep_slot; /* write {%} itself (no worker) */
	size_t only;	/* {}: this value alone (context), or all */
	struct word *w; /* the words; the last one is being composed */
	size_t nw;
	struct slot_pos *slots; /* slot word: its index in w */
	size_t nslots;
};

#define ALL_VALUES SIZE_MAX

static bool
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The kind of a --plus string. */
static enum rs_kind
rs_plus_kind(enum plus_kind k)
{
	switch (k) {
	case PLUS_TOTAL:
		return RS_TOTAL;
	case PLUS_SEQ0:
		return RS_SEQ0;
	case PLUS_SLOT0:
		return RS_SLOT0;
	case PLUS_SLOT:
		return RS_SLOT;
	case PLUS_EDIT:
	case PLUS_CHOOSE_K:
	case PLUS_UNIQ:
		return RS_VALUES;
	default:
		return RS_REFUSED;
	}
}

/*
 * q follows the position of {N...} or a column name: the rest of a
 * value's string ("}", ".}", "/}", or a --plus edit).  Positional forms
 * follow the renamed strings that start with a brace, as in GNU
 * parallel: -I {x} makes {1x}.
 */
static size_t
rs_parse_value_rest(const char *q, struct rs *rs)
{
	enum plus_kind kind;
	size_t len;

	for (int i = RSN_VALUES; i <= RSN_BASE_NOEXT; i++) {
		const char *name = rs_set.names[i];

		if (*name == '{' && starts_with(q, name + 1)) {
			rs->edit.op = rs_name_edit[i];
			return strlen(name) - 1;
		}
	}
	if (rs_set.plus && (len = plus_parse(q, &kind, &rs->edit)) > 0 &&
	    kind == PLUS_EDIT)
		return len;
	return 0;
}

/* {N...} and {column...}: one value. */
static struct rs
rs_parse_value(const char *p)
{
	struct rs rs = { .kind = RS_NONE };
	const char *q = p + 1;
	size_t len, best = 0;

	/* {n}, {-n}, and white space after n, as GNU parallel reads them. */
	rs.from_end = *q == '-';
	if (q[rs.from_end] >= '1' && q[rs.from_end] <= '9') {
		rs.n = strtoul(q + rs.from_end, (char **)&q, 10);
		q += strspn(q, " \t");
		if ((len = rs_parse_value_rest(q, &rs)) > 0) {
			rs.kind = RS_VALUE;
			rs.len = (size_t)(q - p) + len;
		}
		return rs;
	}
	for (size_t i = 0; i < rs_set.ncolumns; i++) {
		struct rs c = { .kind = RS_VALUE, .n = i + 1 };

		len = strlen(rs_set.columns[i]);
		if (len == 0 || len < best ||
		    strncmp(q, rs_set.columns[i], len) != 0 ||
		    (len = rs_parse_value_rest(q + len, &c)) == 0)
			continue;
		best = strlen(rs_set.columns[i]);
		c.len = 1 + best + len;
		rs = c;
	}
	return rs;
}

/* The replacement string at p, if p starts one: the renamed strings
 * first, then a value's, then --plus's. */
static struct rs
rs_parse(const char *p)
{
	struct rs rs = { .kind = RS_NONE };
	enum plus_kind kind;
	size_t len;

	for (int i = RSN_VALUES; i <= RSN_SLOT; i++) {
		const char *name = rs_set.names[i];

		if (!starts_with(p, name) || strlen(name) <= rs.len)
			continue;
		rs.len = strlen(name);
		rs.kind = i == RSN_SEQ ? RS_SEQ :
		    i == RSN_SLOT      ? RS_SLOT :
					 RS_VALUES;
		rs.edit.op = i <= RSN_BASE_NOEXT ? rs_name_edit[i] : EDIT_NONE;
	}
	if (rs.kind != RS_NONE || *p != '{')
		return rs;
	if ((rs = rs_parse_value(p)).kind != RS_NONE || !rs_set.plus)
		return rs;
	if ((len = plus_parse(p + 1, &kind, &rs.edit)) > 0) {
		rs.kind = rs_plus_kind(kind);
		rs.len = len + 1;
	}
	return rs;
}

/* GNU parallel's edits: {.} drops a last ".ext" of the basename, {/}
 * keeps what follows the last slash, {//} what precedes it ("." when
 * there is none, "/" for the root); plus.c has --plus's. */
static char *
rs_edit_apply(const char *v, const struct edit *e)
{
	const char *slash = strrchr(v, '/'), *dot;
	char *s;

	switch (e->op) {
	case EDIT_NONE:
		return strdup(v);
	case EDIT_DIR:
		if (slash == NULL)
			return strdup(".");
		return slash == v ? strdup("/") :
				    strndup(v, (size_t)(slash - v));
	case EDIT_BASE:
		return strdup(slash ? slash + 1 : v);
	case EDIT_NOEXT:
	case EDIT_BASE_NOEXT:
		if (e->op == EDIT_BASE_NOEXT && slash != NULL)
			v = slash + 1;
		if ((s = strdup(v)) != NULL &&
		    (dot = strrchr(s, '.')) != NULL &&
		    strchr(dot, '/') == NULL)
			s[dot - s] = '\0';
		return s;
	default:
		return plus_apply(v, e);
	}
}

/* The characters that mean themselves to the shell, unquoted. */
static const char shell_plain_chars[] = "abcdefghijklmnopqrstuvwxyz"
					"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
					"_@%+=:,./-";

/* Whether s is left unquoted: the characters GNU parallel leaves so,
 * fewer than the shell would, so that the lines are parallel's. */
static bool
shell_safe(const char *s)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyz"
				   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+./-";

	return *s != '\0' && strspn(s, safe) == strlen(s);
}

/* Appends s, quoted for the shell when quote is set and it needs it,
 * the way GNU parallel quotes ('it'"'"'s', "'"'s' for 's: parallel drops
 * an empty '' at either end). */
static int
append_word(struct buf *b, const char *s, bool quote)
{
	size_t start = b->len, len = strlen(s);

	if (!quote || shell_safe(s))
		return buf_append(b, s, len);
	if (buf_append(b, "'", 1) != 0)
		return -1;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '\'' ? buf_append(b, "'\"'\"'", 5) != 0 :
				 buf_append(b, p, 1) != 0)
			return -1;
	}
	if (buf_append(b, "'", 1) != 0)
		return -1;
	if (s[0] == '\'') {
		memmove(b->data + start, b->data + start + 2,
		    b->len - start - 2);
		b->len -= 2;
	}
	if (len > 0 && s[len - 1] == '\'')
		b->len -= 2;
	return 0;
}

static int
append_value(struct buf *b, const char *v, const struct edit *e, bool quote)
{
	char *s = rs_edit_apply(v, e);
	int rc;

	if (s == NULL)
		return -1;
	rc = append_word(b, s, quote);
	free(s);
	return rc;
}

/* Starts the next word. */
static int
word_new(struct compose *cp)
{
	struct word *w = realloc(cp->w, (cp->nw + 1) * sizeof *w);

	if (w == NULL)
		return -1;
	cp->w = w;
	memset(&w[cp->nw++], 0, sizeof *w);
	return 0;
}

static struct buf *
word_buf(struct compose *cp)
{
	return &cp->w[cp->nw - 1].b;
}

static bool
word_kept(const struct word *w)
{
	return w->b.len > 0 || w->real || !w->has_rs;
}

/* Each word a string, for what takes one. */
static int
words_terminate(struct compose *cp)
{
	for (size_t i = 0; i < cp->nw; i++) {
		if (buf_append(&cp->w[i].b, "", 1) != 0)
			return -1;
		cp->w[i].b.len--;
	}
	return 0;
}

static void
compose_free(struct compose *cp)
{
	for (size_t i = 0; i < cp->nw; i++)
		buf_free(&cp->w[i].b);
	free(cp->w);
	free(cp->slots);
}

/* The job slot, or where the worker puts it; width: zero-padded. */
static int
append_slot(struct compose *cp, uint32_t width)
{
	struct word *w = &cp->w[cp->nw - 1];
	struct slot_pos *s;

	w->real = true;
	if (cp->keep_slot)
		return width > 0 ? buf_append(&w->b, "{0%}", 4) :
				   buf_append(&w->b, "{%}", 3);
	if ((s = realloc(cp->slots, (cp->nslots + 1) * sizeof *s)) == NULL)
		return -1;
	cp->slots = s;
	s[cp->nslots].word = (uint32_t)(cp->nw - 1);
	s[cp->nslots].width = width;
	s[cp->nslots++].offset = (uint32_t)w->b.len;
	return 0;
}

/* {} and its edits: the value of this copy of a context group, or every
 * value, a word each (the shell splits them there in GNU parallel). */
static int
append_values(struct compose *cp, const struct edit *e)
{
	const struct job *j = cp->j;
	size_t first = 0, end = j->nargs;

	if (cp->only != ALL_VALUES) {
		first = cp->only;
		end = first < j->nargs ? first + 1 : first;
	}
	for (size_t i = first; i < end; i++) {
		if ((i > first && word_new(cp) != 0) ||
		    append_value(word_buf(cp), j->args[i], e, cp->quote) != 0)
			return -1;
		cp->w[cp->nw - 1].real = true;
	}
	return 0;
}

static int
append_rs(struct compose *cp, const struct rs *rs)
{
	const struct job *j = cp->j;
	struct word *w = &cp->w[cp->nw - 1];
	char num[32];

	w->has_rs = true;
	switch (rs->kind) {
	case RS_SEQ:
		w->real = true;
		snprintf(num, sizeof num, "%zu", j->seq);
		return buf_append(&w->b, num, strlen(num));
	case RS_SLOT:
		return append_slot(cp, 0);
	case RS_SLOT0:
		return append_slot(cp, rs_set.slot_width);
	case RS_VALUE:
		/* Past the last value: nothing, not even '', as in GNU
		 * parallel. */
		if (rs->n > j->nargs)
			return 0;
		w->real = true;
		return append_value(&w->b,
		    j->args[rs->from_end ? j->nargs - rs->n : rs->n - 1],
		    &rs->edit, cp->quote);
	case RS_VALUES:
		return append_values(cp, &rs->edit);
	case RS_TOTAL:
		w->real = true;
		snprintf(num, sizeof num, "%zu", rs_set.total);
		return buf_append(&w->b, num, strlen(num));
	case RS_SEQ0:
		/* As wide as the number of jobs. */
		w->real = true;
		snprintf(num, sizeof num, "%0*zu",
		    snprintf(NULL, 0, "%zu", rs_set.total), j->seq);
		return buf_append(&w->b, num, strlen(num));
	case RS_NONE:
	case RS_REFUSED:
		break;
	}
	return -1;
}

/* The first replacement string at or after p and before end, or NULL.
 * Renamed ones (-I ,,) need not start with a brace. */
static const char *
find_rs(const char *p, const char *end, struct rs *rs)
{
	for (; p < end && *p != '\0'; p++)
		if ((*rs = rs_parse(p)).kind != RS_NONE)
			return p;
	return NULL;
}

/* Appends the len bytes at tmpl with their replacement strings replaced.
 * None has a blank in it, so none crosses the end of a context group. */
static int
append_expanded(struct compose *cp, const char *tmpl, size_t len)
{
	const char *p = tmpl, *end = tmpl + len;
	struct rs rs;

	while ((p = find_rs(p, end, &rs)) != NULL) {
		if (buf_append(word_buf(cp), tmpl, (size_t)(p - tmpl)) != 0 ||
		    append_rs(cp, &rs) != 0)
			return -1;
		tmpl = p += rs.len;
	}
	return buf_append(word_buf(cp), tmpl, (size_t)(end - tmpl));
}

static bool
has_values_rs(const char *s, size_t len)
{
	const char *end = s + len;
	struct rs rs;

	for (; (s = find_rs(s, end, &rs)) != NULL; s += rs.len)
		if (rs.kind == RS_VALUES)
			return true;
	return false;
}

/* Context replace (-X, -N, -L): a group with {} in it is repeated for
 * each value, a word each; {1} {#} and the like are the same in every
 * copy. */
static int
append_group(struct compose *cp, const char *g, size_t len)
{
	size_t n = cp->j->nargs > 0 ? cp->j->nargs : 1;
	int rc = 0;

	if (!has_values_rs(g, len))
		return append_expanded(cp, g, len);
	for (size_t i = 0; i < n && rc == 0; i++) {
		cp->only = i;
		rc = i > 0 && word_new(cp) != 0 ? -1 :
						  append_expanded(cp, g, len);
	}
	cp->only = ALL_VALUES;
	return rc;
}

/* A word of the command, or a template, into words of its own.  In a
 * script a context group ends at a blank, as GNU parallel has it; a word
 * run without a shell is a group whole. */
static int
append_element(struct compose *cp, const char *tmpl)
{
	size_t n;

	if (word_new(cp) != 0)
		return -1;
	if (!cp->j->context)
		return append_expanded(cp, tmpl, strlen(tmpl));
	if (!cp->shell)
		return append_group(cp, tmpl, strlen(tmpl));
	while (*tmpl != '\0') {
		n = strspn(tmpl, " \t");
		if (buf_append(word_buf(cp), tmpl, n) != 0)
			return -1;
		tmpl += n;
		n = strcspn(tmpl, " \t");
		if (append_group(cp, tmpl, n) != 0)
			return -1;
		tmpl += n;
	}
	return 0;
}

static size_t
count_rs(const char *s)
{
	const char *end = s + strlen(s);
	struct rs rs;
	size_t n = 0;

	for (; (s = find_rs(s, end, &rs)) != NULL; s += rs.len)
		n++;
	return n;
}

/* A word that is exactly {} stands for one word per value. */
static bool
word_is_values(const char *w)
{
	return strcmp(w, rs_set.names[RSN_VALUES]) == 0;
}

/*
 * Whether a shell would read word as one word that means itself: text of
 * shell_plain_chars around replacement strings, whose values are quoted.
 * *joins (unless NULL) tells whether it has one that gives all the
 * values, which the shell splits into several words, and is more than
 * the whole word {}, which procq splits alike without a shell.
 */
bool
template_plain(const char *word, bool *joins)
{
	const char *p = word;
	bool plain = *word != '\0';
	struct rs rs;

	if (joins != NULL)
		*joins = false;
	while (plain && *p != '\0') {
		if ((rs = rs_parse(p)).kind == RS_NONE) {
			plain = strchr(shell_plain_chars, *p++) != NULL;
			continue;
		}
		if (joins != NULL && rs.kind == RS_VALUES &&
		    !word_is_values(word))
			*joins = true;
		p += rs.len;
	}
	return plain;
}

bool
template_has_rs(const char *word)
{
	return count_rs(word) > 0;
}

/* Perl expressions of GNU parallel ({= ... =}) have no equivalent;
 * nor have the --plus strings of remote hosts. */
bool
template_valid(const char *tmpl)
{
	const char *p = strstr(tmpl, "{=");
	struct rs rs;

	if (p != NULL && strstr(p, "=}") != NULL) {
		usage_error("'%s': perl expressions ({= ... =}) are not "
			    "supported: use the shell's own expansions, as in "
			    "'f={}; echo ${f%%.*}'",
		    tmpl);
		return false;
	}
	for (p = tmpl; (p = find_rs(p, p + strlen(p), &rs)) != NULL;
	     p += rs.len) {
		if (rs.kind == RS_REFUSED) {
			usage_error("'%s': %.*s: procq runs no jobs on remote "
				    "hosts",
			    tmpl, (int)rs.len, p);
			return false;
		}
		if (!plus_valid(&rs.edit, tmpl))
			return false;
	}
	return true;
}

/* Notes what the strings of tmpl need: the whole input, a filter. */
static void
template_scan(const char *tmpl)
{
	enum plus_kind kind;
	struct edit e;
	struct rs rs;

	for (const char *p = tmpl;
	     (p = find_rs(p, p + strlen(p), &rs)) != NULL; p += rs.len) {
		if (rs.kind == RS_TOTAL || rs.kind == RS_SEQ0)
			rs_set.wants_total = true;
		if (rs_set.plus && plus_parse(p + 1, &kind, &e) > 0) {
			rs_set.choose_k |= kind == PLUS_CHOOSE_K;
			rs_set.uniq |= kind == PLUS_UNIQ;
		}
	}
}

/* The set of replacement strings of the options; 0, or -1 when a
 * template uses one procq does not have. */
int
template_setup(const struct cli_opts *o)
{
	const char *more[] = { o->name, o->group, o->tagstring };
	long jobs;

	for (int i = RSN_VALUES; i <= RSN_SLOT; i++)
		if (o->rs_names[i] != NULL)
			rs_set.names[i] = o->rs_names[i];
	rs_set.plus = o->plus;
	jobs = o->jobs > 0 ? o->jobs : sysconf(_SC_NPROCESSORS_ONLN);
	rs_set.slot_width = (uint32_t)snprintf(NULL, 0, "%ld",
	    jobs > 0 ? jobs : 1);
	for (int i = 0; i < o->ncommand; i++) {
		if (!template_valid(o->command[i]))
			return -1;
		template_scan(o->command[i]);
	}
	for (size_t i = 0; i < sizeof more / sizeof *more; i++) {
		if (more[i] == NULL)
			continue;
		if (!template_valid(more[i]))
			return -1;
		template_scan(more[i]);
	}
	return 0;
}

/* The string of a name, renamed or not: what stands for the values. */
const char *
template_name(enum rs_name name)
{
	return rs_set.names[name];
}

bool
template_wants_total(void)
{
	return rs_set.wants_total;
}

void
template_set_total(size_t njobs)
{
	rs_set.total = njobs;
}

void
template_set_names(char *const *names, size_t n)
{
	rs_set.columns = names;
	rs_set.ncolumns = n;
}

char *const *
template_names(size_t *n)
{
	*n = rs_set.ncolumns;
	return rs_set.columns;
}

/* {choose_k}: the values in ascending order, no two the same; {uniq}: no
 * two the same.  GNU parallel skips the other jobs, which keep their
 * sequence numbers. */
bool
template_skips(const struct values *v)
{
	for (size_t i = 0; (rs_set.choose_k || rs_set.uniq) && i < v->n; i++)
		for (size_t k = i + 1; k < v->n; k++) {
			int cmp = strcmp(v->v[i], v->v[k]);

			if (cmp == 0 ||
			    (rs_set.choose_k && k == i + 1 && cmp > 0))
				return true;
		}
	return false;
}

/* The words joined by spaces: a script, a name or a tag.  The places of
 * the job slot move into the script, argv[2] of /bin/sh -c SCRIPT. */
static int
join_words(struct compose *cp, struct buf *b)
{
	size_t k = 0;

	for (size_t i = 0; i < cp->nw; i++) {
		if (i > 0 && buf_append(b, " ", 1) != 0)
			return -1;
		for (; k < cp->nslots && cp->slots[k].word == i; k++) {
			cp->slots[k].word = 2;
			cp->slots[k].offset += (uint32_t)b->len;
		}
		if (buf_append(b, cp->w[i].b.data, cp->w[i].b.len) != 0)
			return -1;
	}
	return buf_append(b, "", 1);
}

char *
template_expand(const char *tmpl, const struct job *j)
{
	struct compose cp = { .j = j,
		.shell = true,
		.keep_slot = true,
		.only = ALL_VALUES };
	struct buf b = { 0 };

	if (append_element(&cp, tmpl) != 0 || join_words(&cp, &b) != 0) {
		buf_free(&b);
		b.data = NULL;
	}
	compose_free(&cp);
	return b.data;
}

/* The words of a job's command: its template's, then {} when it has no
 * replacement string (not with --pipe), as GNU parallel. */
static int
compose_command(struct compose *cp, const struct cli_opts *o)
{
	size_t found = 0;

	/* No command: the values are the command line, unquoted. */
	if (o->ncommand == 0)
		cp->quote = false;
	for (int i = 0; i < o->ncommand; i++) {
		found += count_rs(o->command[i]);
		if (append_element(cp, o->command[i]) != 0)
			return -1;
	}
	if (found == 0 && !o->pipe &&
	    append_element(cp, rs_set.names[RSN_VALUES]) != 0)
		return -1;
	return words_terminate(cp);
}

static int
pack_str(msgpack_packer *pk, const char *s, size_t len)
{
	return msgpack_pack_str_with_body(pk, s, len);
}

/* Without a shell: the words that are words, and the slots' places in
 * them. */
static int
pack_words(struct compose *cp, msgpack_packer *pk)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < cp->nw; i++)
		n += word_kept(&cp->w[i]);
	if (msgpack_pack_array(pk, n) != 0)
		return -1;
	n = 0;
	for (size_t i = 0; i < cp->nw; i++) {
		if (!word_kept(&cp->w[i]))
			continue;
		for (; k < cp->nslots && cp->slots[k].word == i; k++)
			cp->slots[k].word = (uint32_t)n;
		if (pack_str(pk, cp->w[i].b.data, cp->w[i].b.len) != 0)
			return -1;
		n++;
	}
	return 0;
}

/* The command as one line, for the joblog, --dry-run and --json: the
 * script for the shell, else (--no-shell) the words quoted for it. */
static char *
command_line(const struct cli_opts *o, const struct job *j)
{
	struct compose cp = { .j = j,
		.quote = o->shell,
		.shell = o->shell,
		.keep_slot = true,
		.only = ALL_VALUES };
	struct buf b = { 0 };
	bool first = true;
	int rc;

	rc = compose_command(&cp, o);
	if (rc == 0 && o->shell)
		rc = join_words(&cp, &b);
	for (size_t i = 0; rc == 0 && !o->shell && i < cp.nw; i++) {
		if (!word_kept(&cp.w[i]))
			continue;
		if (!first)
			rc = buf_append(&b, " ", 1);
		if (rc == 0)
			rc = append_word(&b, cp.w[i].b.data, true);
		first = false;
	}
	if (rc == 0 && !o->shell)
		rc = buf_append(&b, "", 1);
	compose_free(&cp);
	if (rc != 0) {
		buf_free(&b);
		return NULL;
	}
	return b.data;
}

/* The options of the task: where the slot goes, its stdin, its
 * niceness and when it may start. */
static int
pack_extra(msgpack_packer *pk, const struct compose *cp,
    const struct cli_opts *o, const struct job *j, const char *underscore,
    bool kept)
{
	struct run_opts ro = {
		.slot = cp->slots,
		.nslot = cp->nslots,
		.in = j->block,
		.in_len = j->block_len,
		.has_in = j->block != NULL,
		.underscore = underscore,
		.nice = o->nice,
		.has_nice = o->has_nice,
		.memfree = o->memfree,
		.load = o->load,
		.kept = kept,
		.fork = o->max_cpu > 0,
	};

	return runner_pack_opts(pk, &ro);
}

/* --shellquote: the command line quoted n times, as parallel quotes. */
static char *
shellquote(const char *line, int n)
{
	char *s = strdup(line);

	for (int i = 0; s != NULL && i < n; i++) {
		struct buf b = { 0 };

		if (append_word(&b, s, true) != 0 ||
		    buf_append(&b, "", 1) != 0) {
			buf_free(&b);
			b.data = NULL;
		}
		free(s);
		s = b.data;
	}
	return s;
}

/*
 * --shellquote: the job prints its command line quoted instead of
 * running it, as GNU parallel's job does; printf(1) prints it, where
 * parallel has perl.  The job slot is left as {%}: it is known only in
 * the worker.
 */
static int
pack_shellquote(const struct cli_opts *o, const struct job *j,
    msgpack_packer *pk)
{
	struct compose none = { 0 };
	char *q = shellquote(j->cmdline, o->shellquote);
	int rc;

	if (q == NULL)
		return -1;
	rc = msgpack_pack_array(pk, 3) != 0 ||
		pack_str(pk, "printf", 6) != 0 ||
		pack_str(pk, "%s\n", 3) != 0 ||
		pack_str(pk, q, strlen(q)) != 0 ?
	    -1 :
	    pack_extra(pk, &none, o, j, NULL, false);
	free(q);
	return rc;
}

/* The arguments of the task: [seq, [argv...], {options}]; sets
 * j->cmdline. */
int
template_command(const struct cli_opts *o, struct job *j, msgpack_sbuffer *sb)
{
	bool direct = !o->shell || shell_skipped(o, j);
	struct compose cp = { .j = j,
		.quote = !direct,
		.shell = !direct,
		.only = ALL_VALUES };
	const char *sh = o->shell_path;
	msgpack_packer pk;
	struct buf b = { 0 };
	int rc;

	if ((j->cmdline = command_line(o, j)) == NULL)
		return -1;
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	if (o->shellquote > 0)
		return msgpack_pack_array(&pk, 3) != 0 ||
			msgpack_pack_uint64(&pk, j->seq) != 0 ?
		    -1 :
		    pack_shellquote(o, j, &pk);
	rc = msgpack_pack_array(&pk, 3) != 0 ||
		msgpack_pack_uint64(&pk, j->seq) != 0 ||
		compose_command(&cp, o) != 0 ?
	    -1 :
	    0;
	if (rc == 0 && !direct)
		rc = join_words(&cp, &b) != 0 ||
			msgpack_pack_array(&pk, 3) != 0 ||
			pack_str(&pk, sh, strlen(sh)) != 0 ||
			pack_str(&pk, "-c", 2) != 0 ||
			pack_str(&pk, b.data, b.len - 1) != 0 ?
		    -1 :
		    0;
	else if (rc == 0)
		rc = pack_words(&cp, &pk);
	if (rc == 0)
		rc = pack_extra(&pk, &cp, o, j,
		    o->shell && direct ? o->underscore : NULL,
		    !direct && shell_kept(o, j, b.data));
	buf_free(&b);
	compose_free(&cp);
	return rc;
}

/* GNU parallel's measure of a command line (batch.c): the replacement
 * string at p, its length or 0; *col the value it takes ({n}; {#} and
 * {%} count as {1}), 0 for every value ({}). */
size_t
template_rs_at(const char *p, size_t *col)
{
	struct rs rs = rs_parse(p);

	*col = rs.kind == RS_VALUE ? rs.n : rs.kind == RS_VALUES ? 0 : 1;
	return rs.kind == RS_NONE ? 0 : rs.len;
}

/* The length of the replacement string rs for value, as quoted for the
 * shell; a job slot counts as one digit. */
size_t
template_rs_width(const char *rs_text, const char *value, size_t seq)
{
	struct rs rs = rs_parse(rs_text);
	struct buf b = { 0 };
	char num[32];
	size_t len;

	if (rs.kind == RS_SEQ)
		return (size_t)snprintf(num, sizeof num, "%zu", seq);
	if (rs.kind != RS_VALUE && rs.kind != RS_VALUES)
		return 1;
	/* Out of memory: composing the command fails next; until then, the
	 * value unquoted. */
	if (append_value(&b, value, &rs.edit, true) != 0)
		len = strlen(value);
	else
		len = b.len;
	buf_free(&b);
	return len;
}
