/*
 * --pipe's records, as GNU parallel finds them: a record ends with
 * --recend (a newline unless told) and the next starts with --recstart
 * (nothing unless told); the input is cut between the two.  Both are
 * strings, with \n, \t, \r, \0, \\, \' and \" standing for the
 * characters, or with --regexp regular expressions: POSIX extended ones
 * here where GNU parallel's are Perl's, matched as Perl's /m does (a dot
 * and a bracket with a ^ stop at a newline; ^ and $ also match at one).
 *
 * --header gives the header at the start of the input: the lines it
 * counts, or the text that a regular expression matches there.
 */
#include "config.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The groups of (recend)(recstart) looked at, the whole match too. */
#define REC_GROUPS	64

struct records {
	bool regexp;
	char *sep; /* recend then recstart, unescaped */
	size_t sep_len;
	size_t end_len;
	char *start; /* recstart alone */
	size_t start_len;
	regex_t re;	  /* --regexp: (recend)(recstart) */
	size_t start_sub; /* the group of recstart in re */
	regex_t re_start; /* ^(recstart) */
	regex_t re_end;	  /* (recend)$ */
	bool have_re;
	long header_lines; /* --header N; -1: a regex or none */
	regex_t header_re;
	bool have_header_re;
};

/* GNU parallel's escapes of a string separator; len counts a NUL. */
static char *
unescape(const char *s, size_t *len)
{
	static const char from[] = "0rnt'\"\\", to[] = "\0\r\n\t'\"\\";
	char *out = malloc(strlen(s) + 1), *q = out;
	const char *p;

	if (out == NULL)
		return NULL;
	for (; *s != '\0'; s++) {
		if (*s == '\\' && s[1] != '\0' &&
		    (p = memchr(from, s[1], sizeof from - 1)) != NULL) {
			*q++ = to[p - from];
			s++;
		} else
			*q++ = *s;
	}
	*len = (size_t)(q - out);
	return out;
}

/* Perl's \n, \t and \r in a regular expression, which POSIX lacks. */
static char *
regex_escapes(const char *s)
{
	static const char from[] = "nrt", to[] = "\n\r\t";
	char *out = malloc(strlen(s) + 1), *q = out;

	if (out == NULL)
		return NULL;
	for (; *s != '\0'; s++) {
		if (*s == '\\' && s[1] != '\0') {
			const char *e = strchr(from, s[1]);

			if (e != NULL) {
				*q++ = to[e - from];
				s++;
				continue;
			}
			*q++ = *s++;
		}
		*q++ = *s;
	}
	*q = '\0';
	return out;
}

/* Compiles pre(a)mid(b)post, a and b Perl-escaped; a usage error. */
static int
compile(regex_t *re, const char *what, const char *pre, const char *a,
    const char *mid, const char *b, const char *post, int flags)
{
	char *ea = regex_escapes(a), *eb = regex_escapes(b), *pat = NULL;
	char msg[128];
	size_t len;
	int rc = -1, err;

	if (ea == NULL || eb == NULL)
		goto oom;
	len = strlen(pre) + strlen(ea) + strlen(mid) + strlen(eb) +
	    strlen(post) + 1;
	if ((pat = malloc(len)) == NULL)
		goto oom;
	snprintf(pat, len, "%s%s%s%s%s", pre, ea, mid, eb, post);
	if ((err = regcomp(re, pat, REG_EXTENDED | flags)) != 0) {
		regerror(err, re, msg, sizeof msg);
		usage_error("%s: not a regular expression: %s", what, msg);
	} else
		rc = 0;
	goto out;
oom:
	usage_error("out of memory");
out:
	free(ea);
	free(eb);
	free(pat);
	return rc;
}

static int
records_regexes(struct records *r, const char *end, const char *start)
{
	regex_t alone;

	/* Each alone first: its error names its option, and the groups of
	 * recend say which one recstart is. */
	if (compile(&alone, "--recend", "", end, "", "", "", REG_NEWLINE))
		return -1;
	r->start_sub = alone.re_nsub + 2;
	regfree(&alone);
	if (r->start_sub >= REC_GROUPS) {
		usage_error("--recend: too many groups");
		return -1;
	}
	if (compile(&alone, "--recstart", "", start, "", "", "", REG_NEWLINE))
		return -1;
	regfree(&alone);
	if (compile(&r->re, "--recend", "(", end, ")(", start, ")",
		REG_NEWLINE))
		return -1;
	if (compile(&r->re_start, "--recstart", "^(", start, ")", "", "",
		REG_NEWLINE)) {
		regfree(&r->re);
		return -1;
	}
	if (compile(&r->re_end, "--recend", "(", end, ")$", "", "", 0)) {
		regfree(&r->re);
		regfree(&r->re_start);
		return -1;
	}
	r->have_re = true;
	return 0;
}

static int
records_strings(struct records *r, const char *end, const char *start)
{
	char *e, *s = NULL;
	size_t elen, slen;

	if ((e = unescape(end, &elen)) == NULL ||
	    (s = unescape(start, &slen)) == NULL ||
	    (r->sep = malloc(elen + slen + 1)) == NULL) {
		free(e);
		free(s);
		usage_error("out of memory");
		return -1;
	}
	memcpy(r->sep, e, elen);
	memcpy(r->sep + elen, s, slen);
	r->sep_len = elen + slen;
	r->end_len = elen;
	r->start = s;
	r->start_len = slen;
	free(e);
	return 0;
}

/* --header N (":" is one line) counts lines; else a regex. */
static int
records_header_opt(struct records *r, const char *h)
{
	char *end;
	long n;

	r->header_lines = -1;
	if (h == NULL)
		return 0;
	if (strcmp(h, ":") == 0) {
		r->header_lines = 1;
		return 0;
	}
	n = strtol(h, &end, 10);
	if (*h >= '0' && *h <= '9' && *end == '\0' && n >= 0) {
		r->header_lines = n;
		return 0;
	}
	if (compile(&r->header_re, "--header", "^(", h, ")", "", "",
		REG_NEWLINE))
		return -1;
	r->have_header_re = true;
	return 0;
}

int
records_new(const struct cli_opts *o, struct records **out)
{
	const char *end = o->recend, *start = o->recstart;
	struct records *r;

	if ((r = calloc(1, sizeof *r)) == NULL) {
		usage_error("out of memory");
		return -1;
	}
	*out = r;
	r->regexp = o->regexp;
	/* GNU parallel's defaults: a newline ends a record unless either
	 * is given (procq's -0: a NUL). */
	if (end == NULL && start == NULL)
		end = o->null_sep ? "\\0" : "\\n";
	if (end == NULL)
		end = "";
	if (start == NULL)
		start = "";
	/* --regexp --recend '': any character ends a record. */
	if (r->regexp && *end == '\0' && o->recstart == NULL)
		end = ".|\n";
	if (r->regexp && strcmp(end, "\\0") == 0) {
		usage_error("-0 with --regexp: a NUL cannot be matched");
		return -1;
	}
	if (r->regexp && records_regexes(r, end, start) != 0)
		return -1;
	if (!r->regexp && records_strings(r, end, start) != 0)
		return -1;
	return records_header_opt(r, o->header);
}

void
records_free(struct records *r)
{
	if (r == NULL)
		return;
	if (r->have_re) {
		regfree(&r->re);
		regfree(&r->re_start);
		regfree(&r->re_end);
	}
	if (r->have_header_re)
		regfree(&r->header_re);
	free(r->sep);
	free(r->start);
	free(r);
}

/* The regex's first match in buf[from, to). */
static bool
match(const regex_t *re, const char *buf, size_t from, size_t to,
    regmatch_t *pm, size_t npm)
{
	pm[0].rm_so = (regoff_t)from;
	pm[0].rm_eo = (regoff_t)to;
	return regexec(re, buf, npm, pm, REG_STARTEND) == 0;
}

/* The first separator that starts at or after from. */
bool
records_next(const struct records *r, const char *buf, size_t len, size_t from,
    struct rec_match *m)
{
	const char *p;
	regmatch_t pm[REC_GROUPS];

	if (from > len)
		return false;
	if (!r->regexp) {
		/* An empty separator is everywhere: one byte a record. */
		if (r->sep_len == 0) {
			m->so = m->cut = m->eo = from;
			return from <= len;
		}
		p = memmem(buf + from, len - from, r->sep, r->sep_len);
		if (p == NULL)
			return false;
		m->so = (size_t)(p - buf);
		m->cut = m->so + r->end_len;
		m->eo = m->so + r->sep_len;
		return true;
	}
	if (!match(&r->re, buf, from, len, pm, REC_GROUPS))
		return false;
	m->so = (size_t)pm[1].rm_so;
	m->cut = (size_t)pm[1].rm_eo;
	m->eo = (size_t)pm[r->start_sub].rm_eo;
	return true;
}

/* Whether buf starts with a recstart (always, when there is none). */
bool
records_starts(const struct records *r, const char *buf, size_t len)
{
	regmatch_t pm[1];

	if (!r->regexp)
		return len >= r->start_len &&
		    memcmp(buf, r->start, r->start_len) == 0;
	return match(&r->re_start, buf, 0, len, pm, 1) && pm[0].rm_so == 0;
}

static bool
ends_with(const struct records *r, const char *buf, size_t len, size_t *so)
{
	regmatch_t pm[1];

	if (!r->regexp) {
		if (r->end_len == 0 || len < r->end_len ||
		    memcmp(buf + len - r->end_len, r->sep, r->end_len) != 0)
			return false;
		*so = len - r->end_len;
		return true;
	}
	if (!match(&r->re_end, buf, 0, len, pm, 1) ||
	    pm[0].rm_eo == pm[0].rm_so)
		return false;
	*so = (size_t)pm[0].rm_so;
	return true;
}

/* --rrs, as GNU parallel does it: every separator goes, a recstart at
 * the start and a recend at the end (or before a last newline, as
 * Perl's $ has it); the new length. */
size_t
records_strip(const struct records *r, char *buf, size_t len)
{
	struct rec_match m;
	size_t from = 0, so, eo;

	if (r->regexp || r->sep_len > 0) {
		while (records_next(r, buf, len, from, &m)) {
			if (m.eo == m.so) {
				from = m.so + 1;
				continue;
			}
			memmove(buf + m.so, buf + m.eo, len - m.eo);
			len -= m.eo - m.so;
			from = m.so;
		}
	}
	if (records_starts(r, buf, len)) {
		regmatch_t pm[1];

		eo = r->start_len;
		if (r->regexp) {
			match(&r->re_start, buf, 0, len, pm, 1);
			eo = (size_t)pm[0].rm_eo;
		}
		memmove(buf, buf + eo, len - eo);
		len -= eo;
	}
	if (ends_with(r, buf, len, &so))
		return so;
	if (len > 0 && buf[len - 1] == '\n' &&
	    ends_with(r, buf, len - 1, &so)) {
		buf[so] = '\n';
		return so + 1;
	}
	return len;
}

bool
records_has_header(const struct records *r)
{
	return r->header_lines > 0 || r->have_header_re;
}

/* The header at the start of buf: its length in *hlen, or false when
 * more input may hold it. */
bool
records_header(const struct records *r, const char *buf, size_t len,
    size_t *hlen)
{
	regmatch_t pm[1];
	const char *p = buf;
	long n;

	if (!r->have_header_re) {
		for (n = 0; n < r->header_lines; n++) {
			p = memchr(p, '\n', len - (size_t)(p - buf));
			if (p == NULL)
				return false;
			p++;
		}
		*hlen = (size_t)(p - buf);
		return true;
	}
	if (!match(&r->header_re, buf, 0, len, pm, 1) || pm[0].rm_so != 0)
		return false;
	*hlen = (size_t)pm[0].rm_eo;
	return true;
}
