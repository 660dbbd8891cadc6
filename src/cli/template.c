/*
 * Templates: GNU parallel's replacement strings.
 *
 *	{}	the values, joined by spaces
 *	{.}	without the extension		{/}	the basename
 *	{//}	the dirname			{/.}	basename, no extension
 *	{#}	the job's sequence number	{%}	its job slot
 *	{N}	the Nth value (source or column), {N.} {N/} {N//} {N/.} too
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

struct compose {
	const struct job *j;
	bool quote;
	struct slot_pos *slots;
	size_t nslots;
	uint32_t word;	/* the word being composed */
	bool keep_slot; /* write {%} itself (no worker) */
};

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
static const char shell_safe_chars[] = "abcdefghijklmnopqrstuvwxyz"
				       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
				       "_@%+=:,./-";

/* Whether s means itself to the shell, unquoted. */
static bool
shell_safe(const char *s)
{
	return *s != '\0' && strspn(s, shell_safe_chars) == strlen(s);
}

/* Appends s, quoted for the shell when quote is set and it needs it,
 * the way GNU parallel quotes ('it'"'"'s'). */
static int
append_word(struct buf *b, const char *s, bool quote)
{
	if (!quote || shell_safe(s))
		return buf_append(b, s, strlen(s));
	if (buf_append(b, "'", 1) != 0)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s == '\'' ? buf_append(b, "'\"'\"'", 5) != 0 :
				 buf_append(b, s, 1) != 0)
			return -1;
	}
	return buf_append(b, "'", 1);
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

/* The job slot, or where the worker puts it; width: zero-padded. */
static int
append_slot(struct compose *cp, struct buf *b, uint32_t width)
{
	struct slot_pos *s;

	if (cp->keep_slot)
		return width > 0 ? buf_append(b, "{0%}", 4) :
				   buf_append(b, "{%}", 3);
	if ((s = realloc(cp->slots, (cp->nslots + 1) * sizeof *s)) == NULL)
		return -1;
	cp->slots = s;
	s[cp->nslots].word = cp->word;
	s[cp->nslots].width = width;
	s[cp->nslots++].offset = (uint32_t)b->len;
	return 0;
}

static int
append_rs(struct compose *cp, struct buf *b, const struct rs *rs)
{
	const struct job *j = cp->j;
	char num[32];

	switch (rs->kind) {
	case RS_SEQ:
		snprintf(num, sizeof num, "%zu", j->seq);
		return buf_append(b, num, strlen(num));
	case RS_SLOT:
		return append_slot(cp, b, 0);
	case RS_SLOT0:
		return append_slot(cp, b, rs_set.slot_width);
	case RS_VALUE:
		/* Past the last value: nothing, as in GNU parallel. */
		if (rs->n > j->nargs)
			return cp->quote ? buf_append(b, "''", 2) : 0;
		return append_value(b,
		    j->args[rs->from_end ? j->nargs - rs->n : rs->n - 1],
		    &rs->edit, cp->quote);
	case RS_VALUES:
		for (size_t i = 0; i < j->nargs; i++)
			if ((i > 0 && buf_append(b, " ", 1) != 0) ||
			    append_value(b, j->args[i], &rs->edit,
				cp->quote) != 0)
				return -1;
		return 0;
	case RS_TOTAL:
		snprintf(num, sizeof num, "%zu", rs_set.total);
		return buf_append(b, num, strlen(num));
	case RS_SEQ0:
		/* As wide as the number of jobs. */
		snprintf(num, sizeof num, "%0*zu",
		    snprintf(NULL, 0, "%zu", rs_set.total), j->seq);
		return buf_append(b, num, strlen(num));
	case RS_NONE:
	case RS_REFUSED:
		break;
	}
	return -1;
}

/* The first replacement string at or after p, or NULL. */
static const char *
find_rs(const char *p, struct rs *rs)
{
	for (; *p != '\0'; p++)
		if ((*rs = rs_parse(p)).kind != RS_NONE)
			return p;
	return NULL;
}

/* Appends tmpl with its replacement strings replaced; counts them. */
static int
append_expanded(struct compose *cp, struct buf *b, const char *tmpl,
    size_t *found)
{
	const char *p = tmpl;
	struct rs rs;

	while ((p = find_rs(p, &rs)) != NULL) {
		if (buf_append(b, tmpl, (size_t)(p - tmpl)) != 0 ||
		    append_rs(cp, b, &rs) != 0)
			return -1;
		(*found)++;
		tmpl = p += rs.len;
	}
	return buf_append(b, tmpl, strlen(tmpl));
}

static size_t
count_rs(const char *s)
{
	struct rs rs;
	size_t n = 0;

	for (; (s = find_rs(s, &rs)) != NULL; s += rs.len)
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
 * shell_safe_chars around replacement strings, whose values are quoted.
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
			plain = strchr(shell_safe_chars, *p++) != NULL;
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
	for (p = tmpl; (p = find_rs(p, &rs)) != NULL; p += rs.len) {
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

	for (const char *p = tmpl; (p = find_rs(p, &rs)) != NULL;
	     p += rs.len) {
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

char *
template_expand(const char *tmpl, const struct job *j)
{
	struct compose cp = { .j = j, .keep_slot = true };
	struct buf b = { 0 };
	size_t found = 0;

	if (append_expanded(&cp, &b, tmpl, &found) != 0 ||
	    buf_append(&b, "", 1) != 0) {
		buf_free(&b);
		return NULL;
	}
	return b.data;
}

static int
pack_str(msgpack_packer *pk, const char *s, size_t len)
{
	return msgpack_pack_str_with_body(pk, s, len);
}

/* Every value, each quoted, after a space: a command without any
 * replacement string. */
static int
append_values(struct buf *b, const struct job *j, bool quote)
{
	for (size_t i = 0; i < j->nargs; i++)
		if (buf_append(b, " ", 1) != 0 ||
		    append_word(b, j->args[i], quote) != 0)
			return -1;
	return 0;
}

/* For the shell: one script, the words joined by spaces. */
static int
compose_shell(struct compose *cp, const struct cli_opts *o, struct buf *b)
{
	size_t found = 0;

	cp->quote = true;
	cp->word = 2; /* SHELL -c SCRIPT */
	for (int i = 0; i < o->ncommand; i++)
		if ((i > 0 && buf_append(b, " ", 1) != 0) ||
		    append_expanded(cp, b, o->command[i], &found) != 0)
			return -1;
	if (found == 0 && append_values(b, cp->j, true) != 0)
		return -1;
	return 0;
}

static int
pack_words(struct compose *cp, const struct cli_opts *o, msgpack_packer *pk)
{
	const struct job *j = cp->j;
	struct buf b = { 0 };
	size_t found = 0, nwords = 0;
	int rc = 0;

	for (int i = 0; i < o->ncommand; i++) {
		found += count_rs(o->command[i]);
		nwords += word_is_values(o->command[i]) ? j->nargs : 1;
	}
	if (found == 0)
		nwords += j->nargs;
	if (msgpack_pack_array(pk, nwords) != 0)
		return -1;
	cp->word = 0;
	for (int i = 0; i < o->ncommand && rc == 0; i++) {
		if (word_is_values(o->command[i])) {
			for (size_t k = 0; k < j->nargs && rc == 0;
			     k++, cp->word++)
				rc = pack_str(pk, j->args[k],
				    strlen(j->args[k]));
			continue;
		}
		b.len = 0;
		rc = append_expanded(cp, &b, o->command[i], &found);
		if (rc == 0)
			rc = pack_str(pk, b.data ? b.data : "", b.len);
		cp->word++;
	}
	buf_free(&b);
	for (size_t k = 0; rc == 0 && found == 0 && k < j->nargs; k++)
		rc = pack_str(pk, j->args[k], strlen(j->args[k]));
	return rc;
}

/* The command as one line, for the joblog, --dry-run and --json: the
 * script for the shell, else (--no-shell) the words quoted for it. */
static char *
command_line(const struct cli_opts *o, const struct job *j)
{
	struct compose cp = { .j = j, .keep_slot = true, .quote = true };
	struct buf b = { 0 }, w = { 0 };
	size_t found = 0;
	int rc = 0;

	if (o->shell)
		rc = compose_shell(&cp, o, &b);
	for (int i = 0; !o->shell && i < o->ncommand && rc == 0; i++) {
		w.len = 0;
		if (i > 0)
			rc = buf_append(&b, " ", 1);
		if (rc == 0 && word_is_values(o->command[i]))
			rc = append_expanded(&cp, &b, o->command[i], &found);
		else if (rc == 0) {
			cp.quote = false;
			rc = append_expanded(&cp, &w, o->command[i], &found) ||
				buf_append(&w, "", 1) ?
			    -1 :
			    append_word(&b, w.data, true);
			cp.quote = true;
		}
	}
	if (rc == 0 && !o->shell && found == 0)
		rc = append_values(&b, j, true);
	buf_free(&w);
	if (rc != 0 || buf_append(&b, "", 1) != 0) {
		buf_free(&b);
		return NULL;
	}
	return b.data;
}

/* The options of the task: where the slot goes, and its stdin. */
static int
pack_extra(msgpack_packer *pk, const struct compose *cp, const struct job *j,
    const char *underscore)
{
	struct run_opts ro = {
		.slot = cp->slots,
		.nslot = cp->nslots,
		.in = j->block,
		.in_len = j->block_len,
		.has_in = j->block != NULL,
		.underscore = underscore,
	};

	return runner_pack_opts(pk, &ro);
}

/* The arguments of the task: [seq, [argv...], {options}]; sets
 * j->cmdline. */
int
template_command(const struct cli_opts *o, struct job *j, msgpack_sbuffer *sb)
{
	struct compose cp = { .j = j };
	bool direct = !o->shell || shell_skipped(o, j);
	const char *sh = o->shell_path;
	msgpack_packer pk;
	struct buf b = { 0 };
	int rc;

	if ((j->cmdline = command_line(o, j)) == NULL)
		return -1;
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	if (msgpack_pack_array(&pk, 3) != 0 ||
	    msgpack_pack_uint64(&pk, j->seq) != 0)
		return -1;
	if (!direct) {
		rc = compose_shell(&cp, o, &b);
		rc = rc != 0 || msgpack_pack_array(&pk, 3) != 0 ||
			pack_str(&pk, sh, strlen(sh)) != 0 ||
			pack_str(&pk, "-c", 2) != 0 ||
			pack_str(&pk, b.data ? b.data : "", b.len) != 0 ?
		    -1 :
		    0;
		buf_free(&b);
	} else
		rc = pack_words(&cp, o, &pk);
	if (rc == 0)
		rc = pack_extra(&pk, &cp, j,
		    o->shell && direct ? o->underscore : NULL);
	free(cp.slots);
	return rc;
}
