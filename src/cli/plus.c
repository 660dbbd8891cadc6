/*
 * GNU parallel's --plus replacement strings: more edits of a value, the
 * total number of jobs, zero-padded sequence numbers, and jobs skipped
 * by their values ({choose_k}, {uniq}).
 *
 * The patterns of {#a} {%a} {/a/b} {^a} and the like are POSIX extended
 * regular expressions, where GNU parallel has Perl's; the shortest and
 * longest matches are found by trying each length, since POSIX has no
 * non-greedy operators.
 */
#include "config.h"

#include <ctype.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The strings without a pattern, after their opening brace. */
static const struct {
	const char	*s;
	enum plus_kind	 kind;
	enum edit_op	 op;
} plus_fixed[] = {
	{ "+/}",	PLUS_EDIT,	EDIT_DIRPART },
	{ "+.}",	PLUS_EDIT,	EDIT_EXT1 },
	{ "+..}",	PLUS_EDIT,	EDIT_EXT2 },
	{ "+...}",	PLUS_EDIT,	EDIT_EXT3 },
	{ "..}",	PLUS_EDIT,	EDIT_NOEXT2 },
	{ "...}",	PLUS_EDIT,	EDIT_NOEXT3 },
	{ "/..}",	PLUS_EDIT,	EDIT_BASE_NOEXT2 },
	{ "/...}",	PLUS_EDIT,	EDIT_BASE_NOEXT3 },
	{ "##}",	PLUS_TOTAL,	EDIT_NONE },
	{ "0#}",	PLUS_SEQ0,	EDIT_NONE },
	{ "0%}",	PLUS_SLOT0,	EDIT_NONE },
	{ "slot}",	PLUS_SLOT,	EDIT_NONE },
	{ "choose_k}",	PLUS_CHOOSE_K,	EDIT_NONE },
	{ "uniq}",	PLUS_UNIQ,	EDIT_NONE },
	{ "host}",	PLUS_REFUSED,	EDIT_NONE },
	{ "sshlogin}",	PLUS_REFUSED,	EDIT_NONE },
	{ "hgrp}",	PLUS_REFUSED,	EDIT_NONE },
	{ "agrp}",	PLUS_REFUSED,	EDIT_NONE },
};

/* The strings with a pattern: after the brace, a prefix and one part,
 * or two ({/a/b}); the first never empty, and never starting with (for
 * {/a/b}: never holding) a character the prefix refuses. */
static const struct {
	const char	*prefix;
	enum edit_op	 op;
	bool		 two;
	const char	*a_refuses;	/* characters not allowed in a */
} plus_pattern[] = {
	{ ":-",	EDIT_DEFAULT,	  false, "" },
	{ "##",	EDIT_PREFIX_LONG, false, "#" },
	{ "#",	EDIT_PREFIX,	  false, "#" },
	{ "%%",	EDIT_SUFFIX_LONG, false, "" },
	{ "%",	EDIT_SUFFIX,	  false, "" },
	{ "//",	EDIT_SUBST_ALL,	  true,	 "" },
	{ "/#",	EDIT_SUBST_START, true,	 "" },
	{ "/%",	EDIT_SUBST_END,	  true,	 "" },
	{ "/",	EDIT_SUBST,	  true,	 "#%/" },
	{ "^^",	EDIT_UPPER_ALL,	  false, "" },
	{ "^",	EDIT_UPPER,	  false, "" },
	{ ",,",	EDIT_LOWER_ALL,	  false, "" },
	{ ",",	EDIT_LOWER,	  false, "" },
};

/* {:n} and {:n:m}. */
static size_t
plus_substr(const char *s, struct edit *e)
{
	const char *p = s + 1;
	char *end;

	if (*s != ':' || !isdigit((unsigned char)*p))
		return 0;
	e->n = strtoul(p, &end, 10);
	e->op = EDIT_SKIP;
	if (*end == ':' && isdigit((unsigned char)end[1])) {
		e->m = strtoul(end + 1, &end, 10);
		e->op = EDIT_SUBSTR;
	}
	return *end == '}' ? (size_t)(end - s) + 1 : 0;
}

static size_t
plus_parse_pattern(const char *s, struct edit *e)
{
	const char *end = strchr(s, '}'), *a, *slash;
	size_t len;

	if (end == NULL)
		return 0;
	if ((len = plus_substr(s, e)) > 0)
		return len;
	for (size_t i = 0; i < sizeof plus_pattern / sizeof *plus_pattern;
	     i++) {
		len = strlen(plus_pattern[i].prefix);
		if (strncmp(s, plus_pattern[i].prefix, len) != 0)
			continue;
		a = s + len;
		/* As parallel's patterns: {##a} is not {#a} of "#a". */
		if (a == end || strchr(plus_pattern[i].a_refuses, *a) != NULL)
			continue;
		e->op = plus_pattern[i].op;
		e->a = a;
		e->alen = (size_t)(end - a);
		if (plus_pattern[i].two) {
			slash = memchr(a + 1, '/', (size_t)(end - a - 1));
			if (slash == NULL ||
			    strcspn(a, plus_pattern[i].a_refuses) <
				(size_t)(slash - a))
				continue;
			e->alen = (size_t)(slash - a);
			e->b = slash + 1;
			e->blen = (size_t)(end - slash - 1);
		}
		return (size_t)(end - s) + 1;
	}
	return 0;
}

size_t
plus_parse(const char *s, enum plus_kind *kind, struct edit *e)
{
	memset(e, 0, sizeof *e);
	for (size_t i = 0; i < sizeof plus_fixed / sizeof *plus_fixed; i++) {
		size_t len = strlen(plus_fixed[i].s);

		if (strncmp(s, plus_fixed[i].s, len) == 0) {
			*kind = plus_fixed[i].kind;
			e->op = plus_fixed[i].op;
			return len;
		}
	}
	*kind = PLUS_EDIT;
	return plus_parse_pattern(s, e);
}

/*
 * The start of the last k extensions of v: the dot before them, when the
 * part after it has k dots and no slash; NULL when there are fewer.
 */
static const char *
ext_start(const char *v, int k)
{
	const char *p = v + strlen(v);

	while (p > v && *--p != '/')
		if (*p == '.' && --k == 0)
			return p;
	return NULL;
}

static char *
edit_ext(const char *v, enum edit_op op)
{
	const char *slash = strrchr(v, '/'), *dot;

	switch (op) {
	case EDIT_DIRPART:
		return slash ? strndup(v, (size_t)(slash - v)) : strdup("");
	case EDIT_EXT1:
		dot = strrchr(v, '.');
		return strdup(dot ? dot + 1 : "");
	case EDIT_EXT2:
	case EDIT_EXT3:
		dot = ext_start(v, op == EDIT_EXT2 ? 2 : 3);
		return strdup(dot ? dot + 1 : "");
	case EDIT_BASE_NOEXT2:
	case EDIT_BASE_NOEXT3:
		if (slash != NULL)
			v = slash + 1;
		/* FALLTHROUGH */
	default:
		dot = ext_start(v,
		    op == EDIT_NOEXT2 || op == EDIT_BASE_NOEXT2 ? 2 : 3);
		return dot ? strndup(v, (size_t)(dot - v)) : strdup(v);
	}
}

/* The pattern of e, anchored as asked, compiled; -1 when it is bad. */
static int
edit_regex(const struct edit *e, const char *before, const char *after,
    regex_t *re)
{
	size_t len = strlen(before) + e->alen + strlen(after) + 3;
	char *s = malloc(len);
	int rc;

	if (s == NULL)
		return -1;
	snprintf(s, len, "%s(%.*s)%s", before, (int)e->alen, e->a, after);
	rc = regcomp(re, s, REG_EXTENDED);
	free(s);
	return rc == 0 ? 0 : -1;
}

/* Whether the whole of v[from, to) matches re, anchored at both ends. */
static bool
whole_match(const regex_t *re, const char *v, size_t from, size_t to)
{
	char *s = strndup(v + from, to - from);
	bool m = s != NULL && regexec(re, s, 0, NULL, 0) == 0;

	free(s);
	return m;
}

/* {#a} {%a}: without the shortest prefix or suffix that matches. */
static char *
edit_affix(const char *v, const struct edit *e)
{
	size_t len = strlen(v);
	regex_t re;
	char *r = NULL;

	if (edit_regex(e, "^", "$", &re) != 0)
		return NULL;
	for (size_t k = 0; k <= len && r == NULL; k++) {
		if (e->op == EDIT_PREFIX && whole_match(&re, v, 0, k))
			r = strdup(v + k);
		else if (e->op == EDIT_SUFFIX &&
		    whole_match(&re, v, len - k, len))
			r = strndup(v, len - k);
		else if (e->op == EDIT_SUFFIX_LONG &&
		    whole_match(&re, v, k, len))
			r = strndup(v, k);
	}
	regfree(&re);
	return r != NULL ? r : strdup(v);
}

/* Appends the replacement of a match: b, or the match with its case
 * changed. */
static int
subst_one(struct buf *b, const struct edit *e, const char *m, size_t len)
{
	bool up = e->op == EDIT_UPPER || e->op == EDIT_UPPER_ALL;

	switch (e->op) {
	case EDIT_UPPER:
	case EDIT_UPPER_ALL:
	case EDIT_LOWER:
	case EDIT_LOWER_ALL:
		for (size_t i = 0; i < len; i++) {
			char c = (char)(up ? toupper((unsigned char)m[i]) :
					     tolower((unsigned char)m[i]));

			if (buf_append(b, &c, 1) != 0)
				return -1;
		}
		return 0;
	default:
		return buf_append(b, e->b, e->blen);
	}
}

/* {##a} {/a/b} {^a} and the like: each match (or the first) replaced. */
static char *
edit_subst(const char *v, const struct edit *e, const char *before,
    const char *after, bool all)
{
	struct buf b = { 0 };
	const char *p = v;
	regmatch_t m;
	regex_t re;
	int rc = 0;

	if (edit_regex(e, before, after, &re) != 0)
		return NULL;
	while (rc == 0 && *p != '\0' &&
	    regexec(&re, p, 1, &m, p == v ? 0 : REG_NOTBOL) == 0) {
		rc = buf_append(&b, p, (size_t)m.rm_so) ||
		    subst_one(&b, e, p + m.rm_so, (size_t)(m.rm_eo - m.rm_so));
		p += m.rm_eo;
		/* An empty match moves on by a character. */
		if (rc == 0 && m.rm_eo == m.rm_so && *p != '\0')
			rc = buf_append(&b, p++, 1);
		if (!all)
			break;
	}
	regfree(&re);
	if (rc != 0 || buf_append(&b, p, strlen(p) + 1) != 0) {
		buf_free(&b);
		return NULL;
	}
	return b.data;
}

char *
plus_apply(const char *v, const struct edit *e)
{
	size_t len = strlen(v);

	switch (e->op) {
	case EDIT_DEFAULT:
		/* Perl's false: empty or "0". */
		if (*v == '\0' || strcmp(v, "0") == 0)
			return strndup(e->a, e->alen);
		return strdup(v);
	case EDIT_SKIP:
		return strdup(e->n < len ? v + e->n : "");
	case EDIT_SUBSTR:
		return e->n < len ? strndup(v + e->n, e->m) : strdup("");
	case EDIT_PREFIX:
	case EDIT_SUFFIX:
	case EDIT_SUFFIX_LONG:
		return edit_affix(v, e);
	case EDIT_PREFIX_LONG:
		return edit_subst(v, e, "^", "", false);
	case EDIT_SUBST:
	case EDIT_LOWER:
	case EDIT_UPPER:
		return edit_subst(v, e, e->op == EDIT_SUBST ? "" : "^", "",
		    false);
	case EDIT_SUBST_ALL:
	case EDIT_UPPER_ALL:
	case EDIT_LOWER_ALL:
		return edit_subst(v, e, "", "", true);
	case EDIT_SUBST_START:
		return edit_subst(v, e, "^", "", false);
	case EDIT_SUBST_END:
		return edit_subst(v, e, "", "$", false);
	default:
		return edit_ext(v, e->op);
	}
}

/* Whether the pattern of e compiles; says why not. */
bool
plus_valid(const struct edit *e, const char *tmpl)
{
	regex_t re;

	if (e->a == NULL || e->op == EDIT_DEFAULT)
		return true;
	if (edit_regex(e, "", "", &re) != 0) {
		usage_error("'%s': '%.*s' is not a valid regular expression",
		    tmpl, (int)e->alen, e->a);
		return false;
	}
	regfree(&re);
	return true;
}
