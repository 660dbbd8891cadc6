/*
 * Templates: {} stands for the item.  A command gets the item in place of
 * every {}, or as its last argument when it has none; through --shell the
 * item is quoted for the shell first, so that it stays one word.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define PLACEHOLDER	"{}"

/* Whether s means itself to the shell, unquoted. */
static bool
shell_safe(const char *s)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-";

	return *s != '\0' && strspn(s, safe) == strlen(s);
}

/* Appends s, quoted for the shell when quote is set and it needs it. */
static int
append_word(struct buf *b, const char *s, bool quote)
{
	if (!quote || shell_safe(s))
		return buf_append(b, s, strlen(s));
	if (buf_append(b, "'", 1) != 0)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s == '\'' ? buf_append(b, "'\\''", 4) != 0 :
		    buf_append(b, s, 1) != 0)
			return -1;
	}
	return buf_append(b, "'", 1);
}

/* Appends tmpl with every {} replaced; says whether there was one. */
static int
append_expanded(struct buf *b, const char *tmpl, const char *item,
    bool quote, bool *found)
{
	const char *p;

	while ((p = strstr(tmpl, PLACEHOLDER)) != NULL) {
		if (buf_append(b, tmpl, (size_t)(p - tmpl)) != 0 ||
		    append_word(b, item, quote) != 0)
			return -1;
		*found = true;
		tmpl = p + strlen(PLACEHOLDER);
	}
	return buf_append(b, tmpl, strlen(tmpl));
}

char *
template_expand(const char *tmpl, const char *item)
{
	struct buf b = { 0 };
	bool found = false;

	if (append_expanded(&b, tmpl, item, false, &found) != 0 ||
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

/* One shell script: the words joined by spaces. */
static int
append_script(struct buf *b, const struct cli_opts *o, const char *item)
{
	bool found = false;
	int rc = 0;

	for (int i = 0; i < o->ncommand && rc == 0; i++) {
		if (i > 0)
			rc = buf_append(b, " ", 1);
		if (rc == 0)
			rc = append_expanded(b, o->command[i], item, true,
			    &found);
	}
	if (rc == 0 && !found && (rc = buf_append(b, " ", 1)) == 0)
		rc = append_word(b, item, true);
	return rc;
}

static int
pack_shell(msgpack_packer *pk, const struct cli_opts *o, const char *item)
{
	struct buf b = { 0 };
	int rc;

	rc = append_script(&b, o, item);
	if (rc == 0)
		rc = msgpack_pack_array(pk, 3) != 0 ||
		    pack_str(pk, "/bin/sh", 7) != 0 ||
		    pack_str(pk, "-c", 2) != 0 ||
		    pack_str(pk, b.data, b.len) != 0 ? -1 : 0;
	buf_free(&b);
	return rc;
}

/* The words themselves, {} replaced, or the item appended. */
static int
pack_argv(msgpack_packer *pk, const struct cli_opts *o, const char *item)
{
	struct buf b = { 0 };
	bool found = false;
	int rc = 0;

	for (int i = 0; i < o->ncommand; i++)
		if (strstr(o->command[i], PLACEHOLDER) != NULL)
			found = true;
	if (msgpack_pack_array(pk, (size_t)o->ncommand + !found) != 0)
		return -1;
	for (int i = 0; i < o->ncommand && rc == 0; i++) {
		b.len = 0;
		rc = append_expanded(&b, o->command[i], item, false, &found);
		if (rc == 0)
			rc = pack_str(pk, b.data ? b.data : "", b.len);
	}
	buf_free(&b);
	if (rc == 0 && !found)
		rc = pack_str(pk, item, strlen(item));
	return rc;
}

/* The arguments of the task: [seq, [argv...]]. */
int
template_command(const struct cli_opts *o, const char *item, size_t seq,
    msgpack_sbuffer *sb)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	if (msgpack_pack_array(&pk, 2) != 0 ||
	    msgpack_pack_uint64(&pk, seq) != 0)
		return -1;
	return o->shell ? pack_shell(&pk, o, item) : pack_argv(&pk, o, item);
}

/* The words run without a shell, {} replaced, each quoted for the
 * shell: the same command as a shell would run it. */
static int
append_quoted_words(struct buf *b, const struct cli_opts *o, const char *item)
{
	struct buf word = { 0 };
	bool found = false;
	int rc = 0;

	for (int i = 0; i < o->ncommand && rc == 0; i++) {
		word.len = 0;
		if ((i > 0 && buf_append(b, " ", 1) != 0) ||
		    append_expanded(&word, o->command[i], item, false,
			&found) != 0 ||
		    buf_append(&word, "", 1) != 0 ||
		    append_word(b, word.data, true) != 0)
			rc = -1;
	}
	if (rc == 0 && !found && (rc = buf_append(b, " ", 1)) == 0)
		rc = append_word(b, item, true);
	buf_free(&word);
	return rc;
}

/* The command as one line, as GNU parallel's joblog shows it: the
 * script of --shell, or the words quoted. */
char *
template_cmdline(const struct cli_opts *o, const char *item)
{
	struct buf b = { 0 };
	int rc;

	if (o->shell)
		rc = append_script(&b, o, item);
	else
		rc = append_quoted_words(&b, o, item);
	if (rc != 0 || buf_append(&b, "", 1) != 0) {
		buf_free(&b);
		return NULL;
	}
	return b.data;
}
