/*
 * The shell that runs the commands, and when a command can do without it.
 *
 * GNU parallel joins the command's words into one line, each input value
 * quoted so that it stays one word, and runs that line with a shell:
 * $PARALLEL_SHELL, else the nearest ancestor process that is a shell,
 * else $SHELL, else /bin/sh.  procq does the same, so that `;`, `|`,
 * `>`, `$VAR` and exported functions mean what they mean there.
 *
 * A shell costs an exec and its start-up per job.  procq leaves it out
 * when it could not change what runs: every word of the command is plain
 * text (letters, digits and _@%+=:,./- outside the replacement strings),
 * the first word names a program found in PATH (an ELF file or a #!
 * script) and not a builtin, keyword or exported function, and the shell
 * is one that reads no start-up file for -c (sh, dash, ash, bash without
 * BASH_ENV or ENV) and $PWD is right.  Then the shell would have split
 * the line into those same words and executed that same program; procq
 * sets $_ as bash would.
 *
 * A command that is one builtin of the shell (echo, printf, true and
 * the others of kept_builtins, with plain words as above) still runs in
 * the shell, but in a shell kept in the worker, which forks a subshell
 * for it (kept.c): not a new shell per job.  The builtin then runs in
 * the same shell, with the same variables, as under -c.  Not with
 * --nice, --max-cpu or --max-mem, which apply to a job's own process,
 * nor for a job whose line holds a newline or is longer than
 * CLI_KEPT_LINE_MAX, or that takes its standard input from procq
 * (template.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

extern char **environ;

/* Shells that quote as the Bourne shell does, as their process names. */
static const char *const bourne_shells[] = { "ash", "bash", "dash", "ksh",
	"ksh93", "lksh", "mksh", "pdksh", "posh", "rbash", "sh", "yash", "zsh",
	NULL };

/* Other shells: found as an ancestor, they stop the search, as they do
 * in parallel, but procq cannot quote for them and uses /bin/sh. */
static const char *const other_shells[] = { "csh", "bsd-csh", "fish", "rc",
	"rush", "tcsh", NULL };

/* Shells whose -c reads no start-up file of its own. */
static const char *const plain_shells[] = { "ash", "bash", "dash", "sh",
	NULL };

/* Words a shell runs itself: builtins and reserved words of bash, which
 * include those of POSIX and dash. */
static const char *const shell_words[] = { "!", ".", ":", "[", "[[", "]]", "{",
	"}", "alias", "bg", "bind", "break", "builtin", "caller", "case", "cd",
	"command", "compgen", "complete", "compopt", "continue", "coproc",
	"declare", "dirs", "disown", "do", "done", "echo", "elif", "else",
	"enable", "esac", "eval", "exec", "exit", "export", "false", "fc",
	"fg", "fi", "for", "function", "getopts", "hash", "help", "history",
	"if", "in", "jobs", "kill", "let", "local", "logout", "mapfile",
	"popd", "printf", "pushd", "pwd", "read", "readarray", "readonly",
	"return", "select", "set", "shift", "shopt", "source", "suspend",
	"test", "then", "time", "times", "trap", "true", "type", "typeset",
	"ulimit", "umask", "unalias", "unset", "until", "wait", "while",
	NULL };

/* Builtins that start no process, read nothing and print nothing of the
 * shell's own state: run in a subshell of a kept shell, they do what they
 * do in a new one.  Each exits with 2 at most, which kept.c counts on:
 * not exit. */
static const char *const kept_builtins[] = { ":", "echo", "false", "printf",
	"test", "true", NULL };

static bool
listed(const char *const *list, const char *name)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, name) == 0)
			return true;
	return false;
}

/* The name a process's argv[0] gives: "-bash" and "/bin/sh" give "bash"
 * and "sh". */
static const char *
process_name(const char *argv0)
{
	const char *slash = strrchr(argv0, '/');

	if (*argv0 == '-')
		argv0++;
	return slash != NULL ? slash + 1 : argv0;
}

/* An executable regular file named by path. */
static bool
executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    access(path, X_OK) == 0;
}

/* name as the shell's PATH search finds it, into buf; false if not. */
static bool
path_find(const char *name, char *buf, size_t len)
{
	const char *path = getenv("PATH"), *p, *end;

	if (strchr(name, '/') != NULL)
		return snprintf(buf, len, "%s", name) < (int)len &&
		    executable(buf);
	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path;; p = end + 1) {
		int dirlen;

		end = strchr(p, ':');
		dirlen = (int)(end != NULL ? end - p : (ptrdiff_t)strlen(p));
		/* An empty element is the current directory. */
		if (snprintf(buf, len, "%.*s%s%s", dirlen, p,
			dirlen > 0 ? "/" : "", name) < (int)len &&
		    executable(buf))
			return true;
		if (end == NULL)
			return false;
	}
}

/* argv[0] of process pid, and its parent's pid; false when unreadable. */
static bool
process_read(pid_t pid, char *argv0, size_t len, pid_t *ppid)
{
	char path[64], line[512], *close_paren;
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, argv0, len - 1);
	close(fd);
	argv0[n > 0 ? n : 0] = '\0';
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, line, sizeof line - 1);
	close(fd);
	line[n > 0 ? n : 0] = '\0';
	/* "pid (comm) state ppid ...", and comm may hold spaces. */
	if ((close_paren = strrchr(line, ')')) == NULL ||
	    sscanf(close_paren + 1, " %*c %d", ppid) != 1)
		return false;
	return true;
}

/* The nearest ancestor that is a shell, into buf: 1 when it is one
 * procq can quote for, 0 when none or another kind was found. */
static int
shell_of_ancestors(char *buf, size_t len)
{
	char argv0[PATH_MAX];
	pid_t pid = getppid(), ppid;

	while (pid > 1 && process_read(pid, argv0, sizeof argv0, &ppid)) {
		const char *name = process_name(argv0);

		if (listed(other_shells, name))
			return 0;
		if (listed(bourne_shells, name))
			return path_find(*argv0 == '-' ? name : argv0, buf,
				   len) ||
			    path_find(name, buf, len);
		pid = ppid;
	}
	return 0;
}

/* The shell to run the commands with, as GNU parallel chooses it. */
static int
shell_choose(char *buf, size_t len)
{
	const char *env = getenv("PARALLEL_SHELL");

	if (env == NULL || *env == '\0') {
		if (shell_of_ancestors(buf, len))
			return 0;
		env = getenv("SHELL");
		if (env == NULL || *env == '\0' ||
		    listed(other_shells, process_name(env)))
			env = "/bin/sh";
	}
	if (!path_find(env, buf, len)) {
		usage_error("shell '%s' not found (PARALLEL_SHELL, SHELL)",
		    env);
		return -1;
	}
	return 0;
}

/* An ELF program or a #! script: what exec runs as the shell would. */
static bool
exec_format_known(const char *path)
{
	char magic[4];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, magic, sizeof magic);
	close(fd);
	return (n == 4 && memcmp(magic, "\177ELF", 4) == 0) ||
	    (n >= 2 && memcmp(magic, "#!", 2) == 0);
}

/* A function of that name exported by bash. */
static bool
exported_function(const char *name)
{
	size_t len = strlen(name);

	for (char **e = environ; *e != NULL; e++)
		if (strncmp(*e, "BASH_FUNC_", 10) == 0 &&
		    strncmp(*e + 10, name, len) == 0 &&
		    (strncmp(*e + 10 + len, "%%=", 3) == 0 ||
			strncmp(*e + 10 + len, "()=", 3) == 0))
			return true;
	return false;
}

/* Whether the shell would run the first word as a program of PATH, found
 * at path. */
static bool
command_is_program(const char *word, char *path, size_t len)
{
	/* A = makes an assignment, a leading % a job in bash. */
	if (!template_plain(word, NULL) || template_has_rs(word) ||
	    strchr(word, '=') != NULL || *word == '%' ||
	    listed(shell_words, word) || exported_function(word))
		return false;
	return path_find(word, path, len) && exec_format_known(path);
}

static bool
unset(const char *name)
{
	const char *v = getenv(name);

	return v == NULL || *v == '\0';
}

/* $PWD names the current directory: a shell would set it otherwise. */
static bool
pwd_current(void)
{
	const char *pwd = getenv("PWD");
	struct stat a, b;

	return pwd != NULL && *pwd == '/' && stat(pwd, &a) == 0 &&
	    stat(".", &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* The shell reads no start-up file for -c and changes no variable of the
 * command's but $_, which bash sets to the program's path. */
static bool
shell_adds_nothing(const char *shell, bool *sets_underscore)
{
	char real[PATH_MAX];

	if (!listed(plain_shells, process_name(shell)) || !unset("ENV") ||
	    !unset("BASH_ENV") || !pwd_current())
		return false;
	/* /bin/sh may be bash. */
	*sets_underscore = realpath(shell, real) != NULL &&
	    strcmp(process_name(real), "bash") == 0;
	return true;
}

/* Whether each job may run without the shell; sets o->shell_joins and
 * o->underscore. */
static bool
shell_skippable(struct cli_opts *o)
{
	char program[PATH_MAX];
	bool sets_underscore;

	if (o->shell_always || o->ncommand == 0 ||
	    !shell_adds_nothing(o->shell_path, &sets_underscore) ||
	    !command_is_program(o->command[0], program, sizeof program))
		return false;
	for (int i = 0; i < o->ncommand; i++) {
		bool joins;

		if (!template_plain(o->command[i], &joins))
			return false;
		o->shell_joins = o->shell_joins || joins;
	}
	if (sets_underscore && (o->underscore = strdup(program)) == NULL)
		return false;
	return true;
}

/* Whether each job may run in a kept shell (kept.c). */
static bool
shell_keepable(const struct cli_opts *o)
{
	bool sets_underscore;

	if (o->ncommand == 0 || o->has_nice || o->max_cpu > 0 ||
	    o->max_mem > 0 ||
	    !shell_adds_nothing(o->shell_path, &sets_underscore) ||
	    template_has_rs(o->command[0]) ||
	    !listed(kept_builtins, o->command[0]) ||
	    exported_function(o->command[0]))
		return false;
	for (int i = 0; i < o->ncommand; i++) {
		if (!template_plain(o->command[i], NULL))
			return false;
	}
	return true;
}

int
shell_setup(struct cli_opts *o)
{
	char path[PATH_MAX];

	if (!o->shell)
		return 0;
	if (shell_choose(path, sizeof path) != 0)
		return -1;
	if ((o->shell_path = strdup(path)) == NULL) {
		usage_error("out of memory");
		return -1;
	}
	o->shell_skip = shell_skippable(o);
	o->shell_keep = !o->shell_skip && shell_keepable(o);
	return 0;
}

bool
shell_skipped(const struct cli_opts *o, const struct job *j)
{
	return o->shell_skip && !(o->shell_joins && j->nargs > 1);
}

bool
shell_kept(const struct cli_opts *o, const struct job *j, const char *line)
{
	return o->shell_keep && j->block == NULL &&
	    strlen(line) <= CLI_KEPT_LINE_MAX && strchr(line, '\n') == NULL;
}
