/* JSON string escaping, shared by the library and procq(1). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "jsonstr.h"

/* Length of the well-formed UTF-8 sequence at p, or 0. */
static size_t
json_utf8(const unsigned char *p, size_t left)
{
	size_t n;
	unsigned cp;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/* JSON text is UTF-8: a byte that is not part of a valid sequence becomes
 * U+FFFD. */
void
json_string(FILE *fp, const char *s, size_t len)
{
	fputc('"', fp);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t n;

		if (c >= 0x80) {
			n = json_utf8((const unsigned char *)s + i, len - i);
			if (n == 0)
				fputs("\\ufffd", fp);
			else
				fwrite(s + i, 1, n, fp);
			i += n > 0 ? n - 1 : 0;
			continue;
		}
		switch (c) {
		case '"':
			fputs("\\\"", fp);
			break;
		case '\\':
			fputs("\\\\", fp);
			break;
		case '\n':
			fputs("\\n", fp);
			break;
		case '\r':
			fputs("\\r", fp);
			break;
		case '\t':
			fputs("\\t", fp);
			break;
		default:
			if (c < 0x20)
				fprintf(fp, "\\u%04x", c);
			else
				fputc(c, fp);
		}
	}
	fputc('"', fp);
}

void
json_cstring(FILE *fp, const char *s)
{
	if (s == NULL)
		fputs("null", fp);
	else
		json_string(fp, s, strlen(s));
}

