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

#include "cli.h"

enum rs_kind {
	RS_NONE,
	RS_VALUES,
	RS_VALUE,
	RS_SEQ,
	RS_SLOT
};

enum rs_edit {
	EDIT_NONE,
	EDIT_NOEXT,
	EDIT_BASE,
	EDIT_DIR,
	EDIT_BASE_NOEXT
};

/* One replacement string, as parsed. */
struct rs {
	enum rs_kind kind;
	enum rs_edit edit;
	size_t n;   /* RS_VALUE: from 1 */
	size_t len; /* of the text, braces included */
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

static enum rs_edit
rs_edit_parse(const char *s, size_t len)
{
	if (len == 0)
		return EDIT_NONE;
	if (len == 1 && *s == '.')
		return EDIT_NOEXT;
	if (len == 1 && *s == '/')
		return EDIT_BASE;
	if (len == 2 && s[0] == '/' && s[1] == '/')
		return EDIT_DIR;
	if (len == 2 && s[0] == '/' && s[1] == '.')
		return EDIT_BASE_NOEXT;
	return (enum rs_edit) - 1;
}

/* The replacement string at p, if p starts one. */
static struct rs
rs_parse(const char *p)
{
	struct rs rs = { .kind = RS_NONE };
	const char *end, *q = p + 1;
	int edit;

	if (*p != '{' || (end = strchr(q, '}')) == NULL || end - q > 12)
		return rs;
	rs.len = (size_t)(end - p) + 1;
	if (end - q == 1 && *q == '#')
		rs.kind = RS_SEQ;
	else if (end - q == 1 && *q == '%')
		rs.kind = RS_SLOT;
	else if (*q >= '1' && *q <= '9') {
		rs.n = strtoul(q, (char **)&q, 10);
		if ((edit = rs_edit_parse(q, (size_t)(end - q))) >= 0) {
			rs.kind = RS_VALUE;
			rs.edit = (enum rs_edit)edit;
		}
	} else if ((edit = rs_edit_parse(q, (size_t)(end - q))) >= 0) {
		rs.kind = RS_VALUES;
		rs.edit = (enum rs_edit)edit;
	}
	return rs;
}

/* GNU parallel's edits: {.} drops a last ".ext" of the basename, {/}
 * keeps what follows the last slash, {//} what precedes it ("." when
 * there is none, "/" for the root). */
static char *
rs_edit_apply(const char *v, enum rs_edit edit)
{
	const char *slash = strrchr(v, '/'), *dot;
	char *s;

	switch (edit) {
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
		if (edit == EDIT_BASE_NOEXT && slash != NULL)
			v = slash + 1;
		if ((s = strdup(v)) != NULL &&
		    (dot = strrchr(s, '.')) != NULL &&
		    strchr(dot, '/') == NULL)
			s[dot - s] = '\0';
		return s;
	}
	return NULL;
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
append_value(struct buf *b, const char *v, enum rs_edit edit, bool quote)
{
	char *s = rs_edit_apply(v, edit);
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

static int
append_slot(struct compose *cp)
{
	struct word *w = &cp->w[cp->nw - 1];
	struct slot_pos *s;

	w->real = true;
	if (cp->keep_slot)
		return buf_append(&w->b, "{%}", 3);
	if ((s = realloc(cp->slots, (cp->nslots + 1) * sizeof *s)) == NULL)
		return -1;
	cp->slots = s;
	s[cp->nslots].word = (uint32_t)(cp->nw - 1);
	s[cp->nslots++].offset = (uint32_t)w->b.len;
	return 0;
}

/* {} and its edits: the value of this copy of a context group, or every
 * value, a word each (the shell splits them there in GNU parallel). */
static int
append_values(struct compose *cp, enum rs_edit edit)
{
	const struct job *j = cp->j;
	size_t first = 0, end = j->nargs;

	if (cp->only != ALL_VALUES) {
		first = cp->only;
		end = first < j->nargs ? first + 1 : first;
	}
	for (size_t i = first; i < end; i++) {
		if ((i > first && word_new(cp) != 0) ||
		    append_value(word_buf(cp), j->args[i], edit, cp->quote) !=
			0)
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
		return append_slot(cp);
	case RS_VALUE:
		/* Past the last value: nothing, not even '', as in GNU
		 * parallel. */
		if (rs->n > j->nargs)
			return 0;
		w->real = true;
		return append_value(&w->b, j->args[rs->n - 1], rs->edit,
		    cp->quote);
	case RS_VALUES:
		return append_values(cp, rs->edit);
	case RS_NONE:
		break;
	}
	return -1;
}

/* Appends the len bytes at tmpl with their replacement strings replaced.
 * None has a blank in it, so none crosses the end of a context group. */
static int
append_expanded(struct compose *cp, const char *tmpl, size_t len)
{
	const char *p = tmpl, *end = tmpl + len;
	struct rs rs;

	while ((p = memchr(p, '{', (size_t)(end - p))) != NULL) {
		if ((rs = rs_parse(p)).kind == RS_NONE) {
			p++;
			continue;
		}
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

	for (; (s = memchr(s, '{', (size_t)(end - s))) != NULL; s++)
		if (rs_parse(s).kind == RS_VALUES)
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
	size_t n = 0;

	for (; (s = strchr(s, '{')) != NULL; s++)
		if (rs_parse(s).kind != RS_NONE)
			n++;
	return n;
}

/* A word that is exactly {} stands for one word per value. */
static bool
word_is_values(const char *w)
{
	return strcmp(w, "{}") == 0;
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

/* Perl expressions of GNU parallel ({= ... =}) have no equivalent. */
bool
template_valid(const char *tmpl)
{
	const char *p = strstr(tmpl, "{=");

	if (p == NULL || strstr(p, "=}") == NULL)
		return true;
	usage_error("'%s': perl expressions ({= ... =}) are not supported: "
		    "use the shell's own expansions, as in "
		    "'f={}; echo ${f%%.*}'",
	    tmpl);
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

	for (int i = 0; i < o->ncommand; i++) {
		found += count_rs(o->command[i]);
		if (append_element(cp, o->command[i]) != 0)
			return -1;
	}
	if (found == 0 && !o->pipe && append_element(cp, "{}") != 0)
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
    const struct cli_opts *o, const struct job *j, const char *underscore)
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
	};

	return runner_pack_opts(pk, &ro);
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
		    o->shell && direct ? o->underscore : NULL);
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
	if (append_value(&b, value, rs.edit, true) != 0)
		len = strlen(value);
	else
		len = b.len;
	buf_free(&b);
	return len;
}
