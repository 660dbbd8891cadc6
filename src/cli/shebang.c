/*
 * --shebang: procq as the interpreter of a script whose lines are the
 * input, as GNU parallel does it:
 *
 *	#!/usr/bin/procq --shebang -r echo
 *	item one
 *	item two
 *
 * The kernel gives the words after the interpreter as one argument, then
 * the script's path: the words are split at blanks, and the script,
 * past its first line, becomes procq's standard input, read as with
 * -a -.  Under `env -S`, which splits the words itself, the script is
 * the last argument.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* --shebang or --hashbang, alone or before the other words. */
static bool
shebang_first(const char *arg)
{
	size_t n = strcspn(arg, " \t");

	return (n == 9 && strncmp(arg, "--shebang", n) == 0) ||
	    (n == 10 && strncmp(arg, "--hashbang", n) == 0);
}

/* The script as standard input, from its second line on. */
static int
shebang_input(const char *script)
{
	char ch;
	ssize_t n;
	int fd;

	if ((fd = open(script, O_RDONLY | O_CLOEXEC)) < 0) {
		usage_error("--shebang: cannot read '%s': %s", script,
		    strerror(errno));
		return -1;
	}
	while ((n = read(fd, &ch, 1)) == 1 && ch != '\n')
		;
	if (n < 0 || dup2(fd, STDIN_FILENO) < 0) {
		usage_error("--shebang: cannot read '%s': %s", script,
		    strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* argv[1] split at blanks, but its first word (--shebang). */
static void
shebang_split(char *words, char **argv, int *argc)
{
	char *w, *save = NULL;

	(void)strtok_r(words, " \t", &save);
	while ((w = strtok_r(NULL, " \t", &save)) != NULL)
		argv[(*argc)++] = w;
}

int
shebang_args(int *argc, char ***argv, struct shebang *sb)
{
	char **in = *argv, **out;
	bool joined;
	int n = 0, nwords;

	memset(sb, 0, sizeof *sb);
	if (*argc < 2 || !shebang_first(in[1]))
		return 0;
	joined = strchr(in[1], ' ') != NULL || strchr(in[1], '\t') != NULL;
	if (*argc < 3 || (joined && *argc > 3)) {
		usage_error("--shebang: expected to be run as a script's "
			    "interpreter, with the script alone after it");
		return -1;
	}
	nwords = joined ? (int)strlen(in[1]) : *argc;
	if ((out = calloc((size_t)nwords + 4, sizeof *out)) == NULL ||
	    (joined && (sb->words = strdup(in[1])) == NULL)) {
		free(out);
		usage_error("out of memory");
		return -1;
	}
	sb->argv = out;
	out[n++] = in[0];
	out[n++] = "-a";
	out[n++] = "-";
	if (joined)
		shebang_split(sb->words, out, &n);
	else
		for (int i = 2; i < *argc - 1; i++)
			out[n++] = in[i];
	if (shebang_input(in[joined ? 2 : *argc - 1]) != 0)
		return -1;
	out[n] = NULL;
	*argc = n;
	*argv = out;
	return 0;
}

void
shebang_free(struct shebang *sb)
{
	free(sb->argv);
	free(sb->words);
}
