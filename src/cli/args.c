/*
 * Command-line options.  Every value is checked here, before anything
 * starts: a bad one is a one-line error and exit status 255.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* The tables are laid out by hand. */
/* clang-format off */
enum {
	OPT_RETRIES = 256, OPT_RETRY_DELAY, OPT_BACKOFF, OPT_TIMEOUT,
	OPT_KILL_GRACE, OPT_RATE, OPT_BURST, OPT_FAIL_FAST, OPT_PRIORITY,
	OPT_NAME, OPT_GROUP, OPT_MAX_MEM, OPT_MAX_CPU, OPT_SHELL, OPT_NO_SHELL,
	OPT_LINE_BUFFER, OPT_JSON, OPT_JOBLOG, OPT_CHECKPOINT, OPT_START_METHOD, OPT_VERSION,
	OPT_MPI, OPT_COLSEP, OPT_LINK, OPT_SHUF, OPT_DRY_RUN, OPT_PIPE,
	OPT_BLOCK, OPT_RECEND, OPT_RECSTART, OPT_REGEXP, OPT_RRS,
	OPT_HALT, OPT_DELAY, OPT_RESUME, OPT_RESUME_FAILED,
	OPT_TAG, OPT_TAGSTRING, OPT_RESULTS, OPT_XARGS, OPT_FILES, OPT_TMPDIR,
	OPT_NICE, OPT_TERMSEQ, OPT_MEMFREE, OPT_LOAD, OPT_ER, OPT_BNR,
	OPT_DNR, OPT_BNER, OPT_SEQREPLACE, OPT_SLOTREPLACE, OPT_PLUS,
	OPT_HEADER, OPT_TRIM, OPT_ARG_SEP, OPT_ARG_FILE_SEP, OPT_SHELLQUOTE,
	OPT_RETRY_FAILED, OPT_USE_CPUS, OPT_USE_CORES, OPT_USE_SOCKETS,
	OPT_NUMBER_OF_CPUS, OPT_NUMBER_OF_CORES, OPT_NUMBER_OF_THREADS,
	OPT_NUMBER_OF_SOCKETS, OPT_MAX_LINE_LENGTH, OPT_MINVERSION,
	OPT_REFUSED	/* + the index in refused[] */
};

/* GNU parallel's options procq refuses, and what to use instead. */
static const struct refused {
	const char	*name;
	const char	*instead;
} refused[] = {
	{ "sshlogin",	 "procq runs no jobs over ssh; to use other hosts, "
			 "run it under mpirun with --mpi" },
	{ "sshloginfile", "procq runs no jobs over ssh; to use other hosts, "
			 "run it under mpirun with --mpi" },
	{ "slf",	 "procq runs no jobs over ssh; to use other hosts, "
			 "run it under mpirun with --mpi" },
	{ "semaphore",	 "procq runs the jobs of one command line; to make "
			 "commands wait for each other, use flock(1) or "
			 "GNU parallel's sem" },
	{ "profile",	 "procq reads no profiles; give the options on the "
			 "command line (a shell alias or function can hold "
			 "them)" },
	{ "rpl",	 "perl expressions are out of scope; use the "
			 "replacement strings ({}, {.}, {/}, {#}...) and the "
			 "shell's own expansions, as in 'f={}; echo ${f%.*}'" },
	{ "shebang",	 "it must come first, as in "
			 "#!/usr/bin/procq --shebang [OPTIONS] COMMAND" },
	{ "hashbang",	 "it must come first, as in "
			 "#!/usr/bin/procq --hashbang [OPTIONS] COMMAND" },
	{ "shebang-wrap", "procq is no script interpreter; run the script "
			 "for each argument: procq SCRIPT ::: ARGS..." },
	{ "parens",	 "perl expressions are out of scope; use the "
			 "replacement strings ({}, {.}, {/}, {#}...) and the "
			 "shell's own expansions, as in 'f={}; echo ${f%.*}'" },
};
#define NREFUSED	(sizeof refused / sizeof refused[0])

/* -S and -J are refused; their argument is optional not to be asked for
 * first. */
#define SHORT_OPTS	"+:j:0a:kqhn:N:L:l::mXs:utrS::J::I:d:E:e::"

static const struct option long_opts[] = {
	{ "jobs",	 required_argument, NULL, 'j' },
	{ "retries",	 required_argument, NULL, OPT_RETRIES },
	{ "retry-delay", required_argument, NULL, OPT_RETRY_DELAY },
	{ "backoff",	 required_argument, NULL, OPT_BACKOFF },
	{ "timeout",	 required_argument, NULL, OPT_TIMEOUT },
	{ "kill-grace",	 required_argument, NULL, OPT_KILL_GRACE },
	{ "rate",	 required_argument, NULL, OPT_RATE },
	{ "burst",	 required_argument, NULL, OPT_BURST },
	{ "fail-fast",	 no_argument,	    NULL, OPT_FAIL_FAST },
	{ "priority",	 required_argument, NULL, OPT_PRIORITY },
	{ "name",	 required_argument, NULL, OPT_NAME },
	{ "group",	 required_argument, NULL, OPT_GROUP },
	{ "max-mem",	 required_argument, NULL, OPT_MAX_MEM },
	{ "max-cpu",	 required_argument, NULL, OPT_MAX_CPU },
	{ "shell",	 no_argument,	    NULL, OPT_SHELL },
	{ "no-shell",	 no_argument,	    NULL, OPT_NO_SHELL },
	{ "quote",	 no_argument,	    NULL, OPT_NO_SHELL },
	{ "null",	 no_argument,	    NULL, '0' },
	{ "arg-file",	 required_argument, NULL, 'a' },
	{ "keep-order",	 no_argument,	    NULL, 'k' },
	{ "line-buffer", no_argument,	    NULL, OPT_LINE_BUFFER },
	{ "tag",	 no_argument,	    NULL, OPT_TAG },
	{ "tagstring",	 required_argument, NULL, OPT_TAGSTRING },
	{ "results",	 required_argument, NULL, OPT_RESULTS },
	{ "quiet",	 no_argument,	    NULL, 'q' },
	{ "json",	 required_argument, NULL, OPT_JSON },
	{ "joblog",	 required_argument, NULL, OPT_JOBLOG },
	{ "checkpoint",	 required_argument, NULL, OPT_CHECKPOINT },
	{ "resume",	 no_argument,	    NULL, OPT_RESUME },
	{ "resume-failed", no_argument,	    NULL, OPT_RESUME_FAILED },
	{ "start-method", required_argument, NULL, OPT_START_METHOD },
	{ "mpi",	 no_argument,	    NULL, OPT_MPI },
	{ "colsep",	 required_argument, NULL, OPT_COLSEP },
	{ "link",	 no_argument,	    NULL, OPT_LINK },
	{ "xapply",	 no_argument,	    NULL, OPT_LINK },
	{ "shuf",	 no_argument,	    NULL, OPT_SHUF },
	{ "dry-run",	 no_argument,	    NULL, OPT_DRY_RUN },
	{ "dryrun",	 no_argument,	    NULL, OPT_DRY_RUN },
	{ "pipe",	 no_argument,	    NULL, OPT_PIPE },
	{ "block",	 required_argument, NULL, OPT_BLOCK },
	{ "block-size",	 required_argument, NULL, OPT_BLOCK },
	{ "recend",	 required_argument, NULL, OPT_RECEND },
	{ "recstart",	 required_argument, NULL, OPT_RECSTART },
	{ "regexp",	 no_argument,	    NULL, OPT_REGEXP },
	{ "rrs",	 no_argument,	    NULL, OPT_RRS },
	{ "remove-rec-sep", no_argument,    NULL, OPT_RRS },
	{ "removerecsep", no_argument,	    NULL, OPT_RRS },
	{ "halt",	 required_argument, NULL, OPT_HALT },
	{ "halt-on-error", required_argument, NULL, OPT_HALT },
	{ "delay",	 required_argument, NULL, OPT_DELAY },
	{ "max-args",	 required_argument, NULL, 'n' },
	{ "max-replace-args", required_argument, NULL, 'N' },
	{ "max-lines",	 optional_argument, NULL, 'l' },
	{ "max-chars",	 required_argument, NULL, 's' },
	{ "xargs",	 no_argument,	    NULL, OPT_XARGS },
	{ "ungroup",	 no_argument,	    NULL, 'u' },
	{ "no-run-if-empty", no_argument,   NULL, 'r' },
	{ "verbose",	 no_argument,	    NULL, 't' },
	{ "files",	 no_argument,	    NULL, OPT_FILES },
	{ "tmpdir",	 required_argument, NULL, OPT_TMPDIR },
	{ "nice",	 required_argument, NULL, OPT_NICE },
	{ "termseq",	 required_argument, NULL, OPT_TERMSEQ },
	{ "term-seq",	 required_argument, NULL, OPT_TERMSEQ },
	{ "memfree",	 required_argument, NULL, OPT_MEMFREE },
	{ "load",	 required_argument, NULL, OPT_LOAD },
	{ "sshlogin",	 optional_argument, NULL, OPT_REFUSED + 0 },
	{ "sshloginfile", optional_argument, NULL, OPT_REFUSED + 1 },
	{ "slf",	 optional_argument, NULL, OPT_REFUSED + 2 },
	{ "semaphore",	 optional_argument, NULL, OPT_REFUSED + 3 },
	{ "profile",	 optional_argument, NULL, OPT_REFUSED + 4 },
	{ "rpl",	 optional_argument, NULL, OPT_REFUSED + 5 },
	{ "shebang",	 optional_argument, NULL, OPT_REFUSED + 6 },
	{ "hashbang",	 optional_argument, NULL, OPT_REFUSED + 7 },
	{ "shebang-wrap", optional_argument, NULL, OPT_REFUSED + 8 },
	{ "parens",	 optional_argument, NULL, OPT_REFUSED + 9 },
	{ "extensionreplace", required_argument, NULL, OPT_ER },
	{ "er",		 required_argument, NULL, OPT_ER },
	{ "basenamereplace", required_argument, NULL, OPT_BNR },
	{ "bnr",	 required_argument, NULL, OPT_BNR },
	{ "dirnamereplace", required_argument, NULL, OPT_DNR },
	{ "dnr",	 required_argument, NULL, OPT_DNR },
	{ "basenameextensionreplace", required_argument, NULL, OPT_BNER },
	{ "bner",	 required_argument, NULL, OPT_BNER },
	{ "seqreplace",	 required_argument, NULL, OPT_SEQREPLACE },
	{ "slotreplace", required_argument, NULL, OPT_SLOTREPLACE },
	{ "plus",	 no_argument,	    NULL, OPT_PLUS },
	{ "header",	 required_argument, NULL, OPT_HEADER },
	{ "trim",	 required_argument, NULL, OPT_TRIM },
	{ "delimiter",	 required_argument, NULL, 'd' },
	{ "norunifempty", no_argument,	    NULL, 'r' },
	{ "eof",	 optional_argument, NULL, 'e' },
	{ "arg-sep",	 required_argument, NULL, OPT_ARG_SEP },
	{ "arg-file-sep", required_argument, NULL, OPT_ARG_FILE_SEP },
	{ "shellquote",	 no_argument,	    NULL, OPT_SHELLQUOTE },
	{ "shell-quote", no_argument,	    NULL, OPT_SHELLQUOTE },
	{ "retry-failed", no_argument,	    NULL, OPT_RETRY_FAILED },
	{ "retryfailed", no_argument,	    NULL, OPT_RETRY_FAILED },
	{ "use-cpus-instead-of-cores", no_argument, NULL, OPT_USE_CPUS },
	{ "use-cores-instead-of-threads", no_argument, NULL, OPT_USE_CORES },
	{ "use-sockets-instead-of-threads", no_argument, NULL,
	  OPT_USE_SOCKETS },
	{ "number-of-cpus", no_argument,    NULL, OPT_NUMBER_OF_CPUS },
	{ "number-of-cores", no_argument,   NULL, OPT_NUMBER_OF_CORES },
	{ "number-of-threads", no_argument, NULL, OPT_NUMBER_OF_THREADS },
	{ "number-of-sockets", no_argument, NULL, OPT_NUMBER_OF_SOCKETS },
	{ "max-line-length-allowed", no_argument, NULL, OPT_MAX_LINE_LENGTH },
	{ "minversion",	 required_argument, NULL, OPT_MINVERSION },
	{ "min-version", required_argument, NULL, OPT_MINVERSION },
	{ "help",	 no_argument,	    NULL, 'h' },
	{ "version",	 no_argument,	    NULL, OPT_VERSION },
	{ NULL,		 0,		    NULL, 0 }
};

static const char usage_text[] =
"usage: procq [options] [--] [COMMAND [ARGS...]] [::: ITEM... | :::: FILE...]...\n"
"Run COMMAND once per item (the items after :::, the lines of the files\n"
"after :::: or -a, else one per line of standard input) in a pool of\n"
"worker processes.  Several sources give every combination; :::+ and\n"
"::::+ pair a source with the one before.  {} in COMMAND or ARGS is\n"
"replaced by the item, {1} {2}... by the value of each source; {.} {/}\n"
"{//} {/.} {#} {%} as in GNU parallel.  Without any, the values are the\n"
"last arguments.  As in GNU parallel, the words are joined into one line,\n"
"each value quoted, and a shell runs it.  Without COMMAND, the values\n"
"are the command line, unquoted.\n"
"\n"
"  -I REPL               use REPL instead of {}; --er, --bnr, --dnr, --bner,\n"
"                        --seqreplace, --slotreplace REPL: of {.} {/} {//}\n"
"                        {/.} {#} {%}\n"
"      --plus            GNU parallel's --plus strings too: {+/} {+.} {..}\n"
"                        {##} {:-text} {#re} {%re} {/re/text} {^re}...\n"
"      --header REGEX    the first item of each source names its columns\n"
"                        ({name}); not a job.  With --pipe: the text REGEX\n"
"                        matches at the start of the input (N: N lines)\n"
"                        goes before every block\n"
"      --trim HOW        trim white space from the values: n, l, r, lr\n"
"  -d, --delimiter D     items end with D, not newline (\\t \\n \\r \\0 \\123)\n"
"  -E, --eof=EOF         a source ends at the item EOF\n"
"  -r, --no-run-if-empty  no job for an empty or blank item\n"
"      --arg-sep SEP     SEP instead of :::\n"
"      --arg-file-sep SEP  SEP instead of ::::\n"
"  -j, --jobs N          run N jobs at once (default: the CPU threads the\n"
"                        process may use); N%, +N, -N: relative to them;\n"
"                        0: one per job, 256 at most\n"
"      --use-cores-instead-of-threads, --use-sockets-instead-of-threads\n"
"                        -j and --load count the cores, or the sockets,\n"
"                        not the threads (--use-cpus-instead-of-cores:\n"
"                        the threads, as in GNU parallel)\n"
"      --shell           always run the command line through the shell\n"
"                        (by default it is left out where it would change\n"
"                        nothing)\n"
"      --no-shell, --quote  run the command's words as they are, no shell\n"
"  -a, --arg-file FILE   read the items from FILE (- is standard input)\n"
"  -r, --no-run-if-empty  items of blanks alone are no jobs\n"
"      --shebang         first: procq is the script's interpreter, the\n"
"                        script's lines the items\n"
"  -0, --null            items are terminated by NUL, not newline\n"
"      --colsep REGEX    split each item into columns {1} {2}...\n"
"      --link            pair the sources instead of crossing them\n"
"      --shuf            run the jobs in a random order\n"
"      --pipe            give blocks of standard input to the jobs' input\n"
"      --block BYTES     the size of a block (default 1M)\n"
"      --recend STR      with --pipe: a record ends with STR (default \\n)\n"
"      --recstart STR    ... and the next starts with STR (default none)\n"
"      --regexp          --recend and --recstart are POSIX extended\n"
"                        regular expressions\n"
"      --rrs             remove the record separators from the blocks\n"
"      --dry-run         print the commands, run nothing\n"
"      --shellquote      each job prints its command line quoted for the\n"
"                        shell instead (twice: quoted twice...)\n"
"  -n, --max-args N      up to N items per job (0: one, none inserted)\n"
"  -N, --max-replace-args N  the same, and a word with {} in it is\n"
"                        repeated for each value\n"
"  -L N                  N lines per job, as -N; a line that ends in a\n"
"                        blank goes on on the next\n"
"                        (with --pipe, -N N: N records per block; -L N:\n"
"                        records of N lines)\n"
"  -l, --max-lines[=N]   the same, as -n (N: 1 by default)\n"
"  -m                    as many items per job as fit on a command line,\n"
"                        the last ones spread over the job slots\n"
"  -X                    the same, with a word with {} repeated for each\n"
"      --xargs           as many items per job as fit, as xargs does\n"
"  -s, --max-chars N     the longest command line (default: GNU\n"
"                        parallel's)\n"
"      --timeout SECS    kill an attempt after SECS seconds; N% of the\n"
"                        median runtime of the jobs that succeeded\n"
"                        (durations: 1.5, or with s, m, h, d: 1m30s)\n"
"      --halt WHEN       now|soon,fail|success=N|N%: stop the run\n"
"      --delay SECS      start a job at most every SECS seconds\n"
"      --kill-grace SECS seconds from SIGTERM to SIGKILL (default 0.5)\n"
"      --termseq SEQ     the same as GNU parallel writes it: TERM,MS,...,\n"
"                        KILL[,MS]\n"
"      --nice N          run the commands at niceness N\n"
"      --memfree SIZE    start a job only while SIZE bytes are free\n"
"      --load N          start a job only while fewer than N processes\n"
"                        run (N, N%, +N, -N as with -j)\n"
"      --retries N       up to N attempts of a failed job, as GNU parallel\n"
"                        counts them; 0: no limit\n"
"      --retry-delay SECS  wait before the first retry\n"
"      --backoff X       multiply the delay by X for each later retry\n"
"      --rate N          start at most N attempts per second\n"
"      --burst N         ... and at most N at once\n"
"      --fail-fast       cancel everything when a job fails\n"
"      --priority N      priority of the jobs (lower runs first)\n"
"      --name TEMPLATE   name of each job ({} is the item)\n"
"      --group TEMPLATE  group of each job ({} is the item)\n"
"      --max-mem BYTES   address space limit per job (K, M, G)\n"
"      --max-cpu SECS    CPU time limit per attempt\n"
"      --start-method M  how workers start: forkserver (default), fork,\n"
"                        exec\n"
"      --mpi             under mpirun: run the jobs on the other ranks,\n"
"                        -j on each\n"
"  -k, --keep-order      print the output in input order\n"
"      --line-buffer     print output lines as they come\n"
"  -u, --ungroup         print output as it comes, jobs' lines mixed\n"
"  -t, --verbose         print each command on stderr as it starts\n"
"      --files           save each job's output in a file and print its\n"
"                        name instead\n"
"      --tmpdir DIR      the directory of --files and spooled output\n"
"                        (default: $TMPDIR, else /tmp)\n"
"      --tag             begin each output line with the item and a tab\n"
"      --tagstring TEMPLATE  ... with TEMPLATE ({} is the item) and a tab\n"
"      --results DIR     save each job's output in files under DIR,\n"
"                        instead of printing it\n"
"  -q, --quiet           no progress bar, no summary\n"
"      --json FILE       write the run summary as JSON to FILE\n"
"      --joblog FILE     write a line per finished job to FILE\n"
"      --resume          skip the jobs the joblog has a line for\n"
"      --resume-failed   skip the jobs the joblog has a success for\n"
"      --retry-failed    run the failed jobs of the joblog again, with\n"
"                        its commands; the command line's are left aside\n"
"      --checkpoint FILE  record finished jobs in FILE (SQLite); a rerun\n"
"                        skips the commands that succeeded before\n"
"      --number-of-threads, --number-of-cores, --number-of-sockets,\n"
"      --number-of-cpus  print the count of CPUs as GNU parallel counts\n"
"                        it (--number-of-cpus: the cores), and exit\n"
"      --max-line-length-allowed  print the longest command line that\n"
"                        can run, and exit\n"
"      --minversion V    print 20221122, the GNU parallel procq runs the\n"
"                        command lines of, and exit 255 if V is later\n"
"  -h, --help            print this help\n"
"      --version         print the version\n"
"\n"
"Exit status: 0 if every job succeeded, else the number of failed jobs\n"
"up to 100, 101 if more failed; 255 for an error, 130 when interrupted.\n";
/* clang-format on */

void
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("procq: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int
parse_start_method(const char *s, procq_start_method *out)
{
	if (strcmp(s, "forkserver") == 0)
		*out = PROCQ_START_FORKSERVER;
	else if (strcmp(s, "fork") == 0)
		*out = PROCQ_START_FORK;
	else if (strcmp(s, "exec") == 0)
		*out = PROCQ_START_EXEC;
	else {
		usage_error("--start-method: expected forkserver, fork or "
		    "exec, not '%s'", s);
		return -1;
	}
	return 0;
}

/* A whole decimal integer in [min, max]. */
static int
parse_int(const char *opt, const char *s, long min, long max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || isspace((unsigned char)*s) || *end != '\0' ||
	    errno != 0 || v < min || v > max) {
		if (max == INT32_MAX)
			usage_error("%s: expected a whole number >= %ld, "
			    "not '%s'", opt, min, s);
		else
			usage_error("%s: expected a whole number from %ld "
			    "to %ld, not '%s'", opt, min, max, s);
		return -1;
	}
	*out = (int)v;
	return 0;
}

/*
 * --retries counts attempts, as GNU parallel does: N allows N attempts in
 * all, and 0 allows any number.  The library counts the retries after
 * the first attempt.
 */
static int
parse_retries(const char *arg, int *retries)
{
	int n;

	if (parse_int("--retries", arg, 0, INT32_MAX, &n) != 0)
		return -1;
	*retries = n == 0 ? INT32_MAX : n - 1;
	return 0;
}

/* A finite decimal number of at least min (strictly above when !incl). */
static int
parse_num(const char *opt, const char *s, double min, bool incl,
    double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (*s == '\0' || isspace((unsigned char)*s) || *end != '\0' ||
	    errno != 0 || !isfinite(v) || v < min || (!incl && v == min)) {
		usage_error("%s: expected a number %s %g, not '%s'", opt,
		    incl ? ">=" : ">", min, s);
		return -1;
	}
	*out = v;
	return 0;
}

/* Bytes, with an optional K, M, G or T suffix (powers of 1024). */
static int
parse_bytes(const char *opt, const char *s, size_t *out)
{
	static const char suffixes[] = "KMGT";
	unsigned long long v;
	const char *p;
	char *end;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0' &&
	    (p = strchr(suffixes, toupper((unsigned char)*end))) != NULL) {
		shift = 10 * (int)(p - suffixes + 1);
		end++;
	}
	if (!isdigit((unsigned char)*s) || *end != '\0' || errno != 0 ||
	    v == 0 || v > (SIZE_MAX >> shift)) {
		usage_error("%s: expected a size in bytes (with K, M, G or T), "
		    "not '%s'", opt, s);
		return -1;
	}
	*out = (size_t)v << shift;
	return 0;
}

/* --block: GNU parallel's suffixes, k m g t powers of 1000 where K M G
 * T are of 1024. */
static int
parse_block(const char *s, size_t *out)
{
	static const char si[] = "kmgt";
	size_t len = strlen(s), scale = 1;
	const char *p;
	char *copy;
	int rc;

	if (len < 2 || (p = strchr(si, s[len - 1])) == NULL)
		return parse_bytes("--block", s, out);
	if ((copy = strdup(s)) == NULL) {
		usage_error("out of memory");
		return -1;
	}
	copy[len - 1] = '\0';
	for (long i = 0; i <= p - si; i++)
		scale *= 1000;
	rc = parse_bytes("--block", copy, out);
	if (rc == 0 && *out > SIZE_MAX / scale) {
		usage_error("--block: '%s' is too large", s);
		rc = -1;
	}
	free(copy);
	if (rc == 0)
		*out *= scale;
	return rc;
}

/*
 * A count relative to the CPUs (cpus.c), as GNU parallel reads -j and
 * --load: N, N% of the CPUs (N may have decimals), +N or -N of them.
 * -1 when it is none of these.
 */
static double
cpu_relative(const char *s)
{
	size_t len = strlen(s);
	double v, cpus = (double)cpus_count();
	char *end;

	if (!isdigit((unsigned char)s[*s == '+' || *s == '-']))
		return -1;
	errno = 0;
	v = strtod(s + (*s == '+' || *s == '-'), &end);
	if (errno != 0 || !isfinite(v) || v > 1e6)
		return -1;
	if (len > 1 && *end == '%' && end[1] == '\0' && isdigit(*s))
		return cpus * v / 100;
	if (*end != '\0' || v != floor(v))
		return -1;
	if (*s == '+' || *s == '-')
		return *s == '+' ? cpus + v : cpus - v;
	return v;
}

/* -j: as GNU parallel reads it, rounded up; 0 for many. */
static int
parse_jobs(const char *s, int *out)
{
	double n = cpu_relative(s);

	if (n < 0 && *s != '-') {
		usage_error("--jobs: expected N, N%%, +N or -N, not '%s'", s);
		return -1;
	}
	if (strcmp(s, "0") == 0) {
		*out = CLI_JOBS_MANY;
		return 0;
	}
	n = ceil(n);
	if (n < 1) {
		usage_error("--jobs %s: that is no job at once on %ld CPUs", s,
		    cpus_count());
		return -1;
	}
	if (n > CLI_JOBS_MAX) {
		usage_error("--jobs %s: at most %d jobs at once", s,
		    CLI_JOBS_MAX);
		return -1;
	}
	*out = (int)n;
	return 0;
}

/* --load: as -j, but 0 means 0.01 (as in GNU parallel). */
static int
parse_load(const char *s, double *out)
{
	double n = cpu_relative(s);

	if (n < 0 && *s != '-') {
		usage_error("--load: expected N, N%%, +N or -N, not '%s'", s);
		return -1;
	}
	*out = n <= 0 ? 0.01 : n;
	return 0;
}

/*
 * A duration as GNU parallel writes one: seconds, or numbers each with
 * s, m, h or d after it (1d3.5h16.6m4s).  0 is none, as in parallel.
 */
static int
parse_duration(const char *opt, const char *s, double *out)
{
	static const char units[] = "smhd";
	static const double secs[] = { 1, 60, 3600, 86400 };
	const char *p = s, *u;
	double total = 0, v;
	char *end;

	do {
		if (!isdigit((unsigned char)*p) && *p != '.')
			goto bad;
		errno = 0;
		v = strtod(p, &end);
		if (errno != 0 || end == p || !isfinite(v))
			goto bad;
		if (*end == '\0' && p == s) {
			total = v;
			break;
		}
		if (*end == '\0' || (u = strchr(units, *end)) == NULL)
			goto bad;
		total += v * secs[u - units];
		p = end + 1;
	} while (*p != '\0');
	if (!isfinite(total) || total < 0)
		goto bad;
	*out = total;
	return 0;
bad:
	usage_error("%s: expected a duration (1.5, 1m30s), not '%s'", opt, s);
	return -1;
}

/*
 * --memfree: bytes, with GNU parallel's prefixes: K M G T P are powers
 * of 1024, k m g t p of 1000.
 */
static int
parse_memfree(const char *s, size_t *out)
{
	static const char binary[] = "KMGTP", decimal[] = "kmgtp";
	double v, unit = 1;
	const char *p;
	char *end;

	errno = 0;
	v = strtod(s, &end);
	if (isdigit((unsigned char)*s) && *end != '\0' && end[1] == '\0') {
		if ((p = strchr(binary, *end)) != NULL)
			unit = pow(1024, (double)(p - binary + 1));
		else if ((p = strchr(decimal, *end)) != NULL)
			unit = pow(1000, (double)(p - decimal + 1));
		if (p != NULL)
			end++;
	}
	if (!isdigit((unsigned char)*s) || *end != '\0' || errno != 0 ||
	    !(v * unit >= 1) || v * unit > (double)SIZE_MAX) {
		usage_error("--memfree: expected a size (1G, 500m), not '%s'",
		    s);
		return -1;
	}
	*out = (size_t)(v * unit);
	return 0;
}

static bool
is_signal(const char *word, const char *name)
{
	return strcmp(word, name) == 0 ||
	    (strncmp(word, "SIG", 3) == 0 && strcmp(word + 3, name) == 0);
}

static bool
is_millis(const char *word)
{
	return *word != '\0' && strlen(word) <= 9 &&
	    strspn(word, "0123456789") == strlen(word);
}

/*
 * --termseq: GNU parallel's SIGNAL,MS,SIGNAL,MS...  The queue sends
 * SIGTERM, then SIGKILL after its kill grace: TERMs then KILL are that,
 * the waits before KILL added up as the grace.  0 when it is no such
 * sequence.
 */
static bool
termseq_grace(const char *s, double *grace)
{
	const char *p = s;
	char word[16];
	size_t i, n;
	double ms = 0;
	bool kill = false;

	for (i = 0;; i++) {
		if ((n = strcspn(p, ",")) >= sizeof word)
			return false;
		memcpy(word, p, n);
		word[n] = '\0';
		if (i % 2 == 1 && !is_millis(word))
			return false;
		if (i % 2 == 1 && !kill)
			ms += strtod(word, NULL);
		if (i % 2 == 0 && !is_signal(word, "TERM") &&
		    !(kill = is_signal(word, "KILL")))
			return false;
		if (p[n] == '\0' && !kill)
			return false;
		if (p[n] == '\0')
			break;
		if (kill && i % 2 == 1)
			return false;
		p += n + 1;
	}
	*grace = ms > 0 ? ms / 1000 : -1;
	return true;
}

static int
parse_termseq(const char *s, double *grace)
{
	if (termseq_grace(s, grace))
		return 0;
	usage_error("--termseq: expected TERMs then KILL, as in "
		    "TERM,200,TERM,100,KILL,25 (or --kill-grace SECS), "
		    "not '%s'",
	    s);
	return -1;
}

/* --timeout SECS, or N% of the median runtime of successful jobs. */
static int
parse_timeout(const char *s, struct cli_opts *o)
{
	size_t len = strlen(s);
	char num[64];

	if (len < 2 || len >= sizeof num || s[len - 1] != '%')
		return parse_duration("--timeout", s, &o->timeout);
	memcpy(num, s, len - 1);
	num[len - 1] = '\0';
	return parse_num("--timeout", num, 0, false, &o->timeout_pct);
}

static int
args_halt(const char *s, struct cli_opts *o)
{
	static struct halt halt;

	if (halt_parse(s, &halt) != 0) {
		usage_error("--halt: expected now|soon,fail|success=N|N%%, "
			    "or 0, 1, 2, not '%s'",
		    s);
		return -1;
	}
	o->halt = halt.count > 0 ? &halt : NULL;
	return 0;
}

/* Adds a source: words, or a file (path). */
static int
args_add_source(struct cli_opts *o, char **words, size_t nwords,
    const char *path, bool linked)
{
	struct source *v = realloc(o->sources, (o->nsources + 1) * sizeof *v);

	if (v == NULL) {
		usage_error("out of memory");
		return -1;
	}
	o->sources = v;
	v[o->nsources++] = (struct source){ .words = words,
		.nwords = nwords,
		.path = path,
		.linked = linked };
	return 0;
}

/* A GNU parallel option procq does not take: what to do instead. */
static int
args_refused(size_t i)
{
	usage_error("--%s is not supported: %s", refused[i].name,
	    refused[i].instead);
	return -1;
}

/* -I and the like: another name for a replacement string. */
static int
args_rename(int ch, const char *arg, struct cli_opts *o)
{
	static const struct {
		int ch;
		const char *opt;
		enum rs_name name;
	} renames[] = {
		{ 'I', "-I", RSN_VALUES },
		{ OPT_ER, "--extensionreplace", RSN_NOEXT },
		{ OPT_BNR, "--basenamereplace", RSN_BASE },
		{ OPT_DNR, "--dirnamereplace", RSN_DIR },
		{ OPT_BNER, "--basenameextensionreplace", RSN_BASE_NOEXT },
		{ OPT_SEQREPLACE, "--seqreplace", RSN_SEQ },
		{ OPT_SLOTREPLACE, "--slotreplace", RSN_SLOT },
	};

	for (size_t i = 0; i < sizeof renames / sizeof *renames; i++) {
		if (renames[i].ch != ch)
			continue;
		if (*arg == '\0') {
			usage_error("%s: expected a replacement string",
			    renames[i].opt);
			return -1;
		}
		o->rs_names[renames[i].name] = arg;
		return 0;
	}
	return -1;
}

static int
args_trim(const char *arg, struct cli_opts *o)
{
	if (strcmp(arg, "n") != 0 && strcmp(arg, "l") != 0 &&
	    strcmp(arg, "r") != 0 && strcmp(arg, "lr") != 0 &&
	    strcmp(arg, "rl") != 0) {
		usage_error("--trim: expected n, l, r, lr or rl, not '%s'",
		    arg);
		return -1;
	}
	o->trim = arg;
	return 0;
}

/* The separators of the sources: parallel's, unless renamed. */
static const char *arg_sep = ":::";
static const char *arg_file_sep = "::::";

static int
args_separator(int ch, const char *arg)
{
	if (*arg == '\0') {
		usage_error("%s: expected a separator",
		    ch == OPT_ARG_SEP ? "--arg-sep" : "--arg-file-sep");
		return -1;
	}
	if (ch == OPT_ARG_SEP)
		arg_sep = arg;
	else
		arg_file_sep = arg;
	return 0;
}

/* Whether p starts with n octal digits. */
static bool
octal_digits(const char *p, int n)
{
	for (int i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '7')
			return false;
	return true;
}

/*
 * -d: GNU parallel's escapes, \t \n \r, \ooo (three octal digits) and \o
 * (one); any other backslash means itself, as there.
 */
static int
args_delimiter(const char *arg, struct cli_opts *o)
{
	static const char from[] = "tnr", to[] = "\t\n\r";
	const char *p = arg, *e;
	size_t len = 0;
	char *d;

	free(o->delim);
	if ((d = o->delim = malloc(strlen(arg) + 1)) == NULL) {
		usage_error("out of memory");
		return -1;
	}
	while (*p != '\0') {
		int n = *p != '\\' ? 0 :
		    octal_digits(p + 1, 3) ? 3 :
		    octal_digits(p + 1, 1) ? 1 :
					     0;
		unsigned v = 0;

		if (n > 0) {
			for (int k = 1; k <= n; k++)
				v = v * 8 + (unsigned)(p[k] - '0');
			d[len++] = (char)v;
			p += 1 + n;
		} else if (*p == '\\' && p[1] != '\0' &&
		    (e = strchr(from, p[1])) != NULL) {
			d[len++] = to[e - from];
			p += 2;
		} else
			d[len++] = *p++;
	}
	if (len == 0) {
		usage_error("-d: expected a delimiter");
		return -1;
	}
	o->delim_len = len;
	return 0;
}

/* The fact an option of info.c prints. */
static unsigned
args_info_bit(int ch)
{
	switch (ch) {
	case OPT_NUMBER_OF_CPUS:
		return INFO_CPUS;
	case OPT_NUMBER_OF_CORES:
		return INFO_CORES;
	case OPT_NUMBER_OF_THREADS:
		return INFO_THREADS;
	case OPT_NUMBER_OF_SOCKETS:
		return INFO_SOCKETS;
	default:
		return INFO_LINE_MAX;
	}
}

/* --minversion: a whole number, as parallel takes it (20130722). */
static int
parse_version(const char *s, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	if (*s == '\0' || isspace((unsigned char)*s) || *end != '\0' ||
	    errno != 0) {
		usage_error("--minversion: expected a version such as "
			    "20130722, not '%s'",
		    s);
		return -1;
	}
	return 0;
}

static int
args_option(int ch, const char *arg, struct cli_opts *o)
{
	double grace;

	switch (ch) {
	case 'j':
		o->jobs_arg = arg;
		return 0;
	case OPT_RETRIES:
		return parse_retries(arg, &o->retries);
	case OPT_RETRY_DELAY:
		return parse_num("--retry-delay", arg, 0, true,
		    &o->retry_delay);
	case OPT_BACKOFF:
		return parse_num("--backoff", arg, 1, true, &o->backoff);
	case OPT_TIMEOUT:
		return parse_timeout(arg, o);
	case OPT_KILL_GRACE:
		if (parse_num("--kill-grace", arg, 0, true, &grace) != 0)
			return -1;
		/* The library reads 0 as its default and < 0 as at once. */
		o->kill_grace = grace == 0 ? -1 : grace;
		return 0;
	case OPT_RATE:
		return parse_num("--rate", arg, 0, false, &o->rate);
	case OPT_BURST:
		return parse_int("--burst", arg, 1, INT32_MAX, &o->burst);
	case OPT_FAIL_FAST:
		o->fail_fast = true;
		return 0;
	case OPT_PRIORITY:
		return parse_int("--priority", arg, INT32_MIN + 1, INT32_MAX - 1,
		    &o->priority);
	case OPT_NAME:
		o->name = arg;
		return 0;
	case OPT_GROUP:
		o->group = arg;
		return 0;
	case OPT_MAX_MEM:
		return parse_bytes("--max-mem", arg, &o->max_mem);
	case OPT_MAX_CPU:
		return parse_num("--max-cpu", arg, 0, false, &o->max_cpu);
	case OPT_SHELL:
	case OPT_NO_SHELL:
		o->shell = ch == OPT_SHELL;
		o->shell_always = ch == OPT_SHELL;
		return 0;
	case '0':
		o->null_sep = true;
		return 0;
	case 'a':
		return args_add_source(o, NULL, 0, arg, false);
	case 'k':
		o->keep_order = true;
		return 0;
	case OPT_LINE_BUFFER:
		o->line_buffer = true;
		return 0;
	case OPT_TAG:
		o->tag = true;
		return 0;
	case OPT_TAGSTRING:
		o->tagstring = arg;
		return 0;
	case OPT_RESULTS:
		o->results = arg;
		return 0;
	case 'q':
		o->quiet = true;
		return 0;
	case OPT_JSON:
		o->json = arg;
		return 0;
	case OPT_JOBLOG:
		o->joblog = arg;
		return 0;
	case OPT_RESUME:
		o->resume = true;
		return 0;
	case OPT_CHECKPOINT:
		if (*arg == '\0') {
			usage_error("--checkpoint: expected a file name");
			return -1;
		}
		o->checkpoint = arg;
		return 0;
	case OPT_RESUME_FAILED:
		o->resume_failed = true;
		return 0;
	case OPT_START_METHOD:
		return parse_start_method(arg, &o->start_method);
	case OPT_COLSEP:
		o->colsep = arg;
		return 0;
	case OPT_LINK:
		o->link = true;
		return 0;
	case OPT_SHUF:
		o->shuf = true;
		return 0;
	case OPT_DRY_RUN:
		o->dry_run = true;
		return 0;
	case OPT_PIPE:
		o->pipe = true;
		return 0;
	case OPT_BLOCK:
		return parse_block(arg, &o->block);
	case OPT_RECEND:
		o->recend = arg;
		return 0;
	case OPT_RECSTART:
		o->recstart = arg;
		return 0;
	case OPT_REGEXP:
		o->regexp = true;
		return 0;
	case OPT_RRS:
		o->rrs = true;
		return 0;
	case OPT_HALT:
		return args_halt(arg, o);
	case OPT_DELAY:
		return parse_duration("--delay", arg, &o->delay);
	case 'u':
		o->ungroup = true;
		return 0;
	case 't':
		o->verbose = true;
		return 0;
	case 'r':
		o->no_run_if_empty = true;
		return 0;
	case OPT_FILES:
		o->files = true;
		return 0;
	case OPT_TMPDIR:
		o->tmpdir = arg;
		return 0;
	case OPT_NICE:
		o->has_nice = true;
		return parse_int("--nice", arg, -20, 19, &o->nice);
	case OPT_TERMSEQ:
		return parse_termseq(arg, &o->kill_grace);
	case OPT_MEMFREE:
		return parse_memfree(arg, &o->memfree);
	case OPT_LOAD:
		o->load_arg = arg;
		return 0;
	case 'S':
		return args_refused(0);
	case 'J':
		return args_refused(4);
	case 'n':
	case 'N':
	case 'L':
	case 'l':
	case 'm':
	case 'X':
	case 's':
		return batch_option(ch, arg, &o->batch);
	case OPT_XARGS:
		return batch_option('x', arg, &o->batch);
	case 'I':
	case OPT_ER:
	case OPT_BNR:
	case OPT_DNR:
	case OPT_BNER:
	case OPT_SEQREPLACE:
	case OPT_SLOTREPLACE:
		return args_rename(ch, arg, o);
	case OPT_PLUS:
		o->plus = true;
		return 0;
	case OPT_HEADER:
		/* GNU parallel's --header 0 is none. */
		o->header = strcmp(arg, "0") == 0 ? NULL : arg;
		return 0;
	case OPT_TRIM:
		return args_trim(arg, o);
	case 'd':
		return args_delimiter(arg, o);
	case 'E':
	case 'e':
		/* --eof alone, or an empty string: none, as in parallel. */
		o->eof_str = arg != NULL && *arg != '\0' ? arg : NULL;
		return 0;
	case OPT_ARG_SEP:
	case OPT_ARG_FILE_SEP:
		return args_separator(ch, arg);
	case OPT_SHELLQUOTE:
		o->shellquote++;
		return 0;
	case OPT_RETRY_FAILED:
		o->retry_failed = true;
		return 0;
	case OPT_USE_CPUS:
		/* parallel counts local CPUs as threads with it too: it
		 * changes how it counts a remote host's. */
		cpus_use(CPUS_THREADS);
		return 0;
	case OPT_USE_CORES:
		cpus_use(CPUS_CORES);
		return 0;
	case OPT_USE_SOCKETS:
		cpus_use(CPUS_SOCKETS);
		return 0;
	case OPT_NUMBER_OF_CPUS:
	case OPT_NUMBER_OF_CORES:
	case OPT_NUMBER_OF_THREADS:
	case OPT_NUMBER_OF_SOCKETS:
	case OPT_MAX_LINE_LENGTH:
		o->info |= args_info_bit(ch);
		return 0;
	case OPT_MINVERSION:
		o->info |= INFO_MINVERSION;
		return parse_version(arg, &o->minversion);
	case OPT_MPI:
#ifdef HAVE_MPI
		o->mpi = true;
		return 0;
#else
		usage_error("--mpi: this procq was built without MPI");
		return -1;
#endif
	}
	if (ch >= OPT_REFUSED && ch < OPT_REFUSED + (int)NREFUSED)
		return args_refused((size_t)(ch - OPT_REFUSED));
	return -1;
}

/* The option getopt could not take, in words. */
static void
args_bad_option(int ch, char **argv)
{
	const char *word = argv[optind - 1];

	if (ch == ':')
		usage_error("option '%s' needs an argument", word);
	else if (strncmp(word, "--shebang ", 10) == 0 ||
	    strncmp(word, "--hashbang ", 11) == 0)
		usage_error("'%s': --shebang must come first, as in "
			    "#!/usr/bin/procq --shebang [OPTIONS] COMMAND",
		    word);
	else if (optopt != 0)
		usage_error("unknown option '-%c' (see procq --help)", optopt);
	else
		usage_error("unknown option '%s' (see procq --help)", word);
}

/* Whether w is sep, or sep followed by a + (linked). */
static bool
is_sep(const char *w, const char *sep)
{
	size_t len = strlen(sep);

	return strncmp(w, sep, len) == 0 &&
	    (w[len] == '\0' || strcmp(w + len, "+") == 0);
}

static bool
is_separator(const char *w)
{
	return is_sep(w, arg_sep) || is_sep(w, arg_file_sep);
}

/* The sources after the command: ::: WORDS, :::: FILES, and their
 * linked forms :::+ and ::::+ (only the first file of a :::: is). */
static int
args_sources(int argc, char **argv, int i, struct cli_opts *o)
{
	while (i < argc) {
		const char *sep = argv[i];
		bool files = is_sep(sep, arg_file_sep);
		bool linked = strlen(sep) >
		    strlen(files ? arg_file_sep : arg_sep);
		int first = ++i;

		while (i < argc && !is_separator(argv[i]))
			i++;
		if (!files &&
		    args_add_source(o, argv + first, (size_t)(i - first), NULL,
			linked) != 0)
			return -1;
		for (int k = first; files && k < i; k++)
			if (args_add_source(o, NULL, 0, argv[k],
				linked && k == first) != 0)
				return -1;
		if (files && first == i) {
			usage_error("%s: no file named", sep);
			return -1;
		}
	}
	return 0;
}

/* -u writes the output as it comes: nothing can hold or label it. */
static int
args_check_output(const struct cli_opts *o)
{
	const char *other = NULL;

	if (o->line_buffer)
		other = "--line-buffer";
	else if (o->keep_order)
		other = "--keep-order";
	else if (o->files)
		other = "--files";
	else if (o->results != NULL)
		other = "--results";
	else if (o->tag || o->tagstring != NULL)
		other = "--tag and --tagstring";
	if (o->ungroup && other != NULL) {
		usage_error("--ungroup prints output as it comes: not with %s",
		    other);
		return -1;
	}
	return 0;
}

/* --tmpdir is $TMPDIR for the spools and --files, as in GNU parallel;
 * set before any thread or worker exists. */
static int
args_tmpdir(const struct cli_opts *o)
{
	struct stat st;

	if (o->tmpdir == NULL)
		return 0;
	if (stat(o->tmpdir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		usage_error("--tmpdir: '%s' is not a directory", o->tmpdir);
		return -1;
	}
	if (setenv("TMPDIR", o->tmpdir, 1) != 0) {
		usage_error("out of memory");
		return -1;
	}
	return 0;
}

/* -j and --load, once the options said how CPUs are counted; without
 * -j, one job per CPU (of this host, on each host with --mpi). */
static int
args_cpus(struct cli_opts *o)
{
	if (o->jobs_arg != NULL && parse_jobs(o->jobs_arg, &o->jobs) != 0)
		return -1;
	if (o->load_arg != NULL && parse_load(o->load_arg, &o->load) != 0)
		return -1;
	if (o->jobs == 0)
		o->jobs = (int)(cpus_count() < CLI_JOBS_MAX ? cpus_count() :
							      CLI_JOBS_MAX);
	return 0;
}

/*
 * --retry-failed: the jobs that failed in the joblog run again, as in GNU
 * parallel: their commands are the joblog's, run by the shell, and keep
 * their seqs; the command line's command and input are left aside.
 * Without a joblog yet, the command line runs.
 */
static int
args_retry(struct cli_opts *o)
{
	struct seqset done;
	struct source *src;
	int rc;

	if (!o->retry_failed)
		return 0;
	if (o->joblog == NULL) {
		usage_error("--retry-failed needs --joblog FILE");
		return -1;
	}
	if ((rc = retry_load(o->joblog, &o->retry_cmds, &o->nretry_cmds,
		 &done)) <= 0)
		return rc;
	if ((o->retry_done = malloc(sizeof *o->retry_done)) == NULL ||
	    (src = calloc(1, sizeof *src)) == NULL) {
		seqset_free(&done);
		usage_error("out of memory");
		return -1;
	}
	*o->retry_done = done;
	src->words = o->retry_cmds;
	src->nwords = o->nretry_cmds;
	free(o->sources);
	o->sources = src;
	o->nsources = 1;
	o->command = NULL;
	o->ncommand = 0;
	o->shell = true;
	return 0;
}

static int
args_check(struct cli_opts *o)
{
	if (args_cpus(o) != 0 || args_retry(o) != 0)
		return -1;
	if (o->mpi && o->start_method == PROCQ_START_EXEC) {
		usage_error("--mpi: --start-method exec does not apply");
		return -1;
	}
	if ((o->resume || o->resume_failed) && o->joblog == NULL) {
		usage_error("%s needs --joblog FILE",
		    o->resume_failed ? "--resume-failed" : "--resume");
		return -1;
	}
	if (args_check_output(o) != 0 || args_tmpdir(o) != 0)
		return -1;
	if (o->keep_order && o->line_buffer) {
		usage_error("--keep-order and --line-buffer cannot be "
			    "combined");
		return -1;
	}
	if (o->pipe && o->nsources > 0) {
		usage_error("--pipe reads its blocks from the standard input: "
			    "no ::: or -a");
		return -1;
	}
	if (o->delay > 0 && o->rate > 0) {
		usage_error("--delay and --rate both set the pace: give one");
		return -1;
	}
	if (batch_resolve(o) != 0)
		return -1;
	if (o->pipe && records_new(o, &o->records) != 0)
		return -1;
	/* GNU parallel splits a header at tabs unless told (--pipe's is
	 * given whole). */
	if (o->header != NULL && o->colsep == NULL && !o->pipe)
		o->colsep = "\t";
	/* ... and trims the columns unless told. */
	if (o->colsep != NULL && o->trim == NULL)
		o->trim = "lr";
	if (template_setup(o) != 0)
		return -1;
	return shell_setup(o);
}

/* COMMAND [ARGS...] [SEPARATOR VALUES...]... */
static int
args_command(int argc, char **argv, struct cli_opts *o)
{
	int i;

	o->command = argv + optind;
	for (i = optind; i < argc && !is_separator(argv[i]); i++)
		;
	o->ncommand = i - optind;
	/* No command: each job's values are its command line, as in GNU
	 * parallel; but a block of --pipe needs a command to read it. */
	if (o->ncommand == 0 && o->pipe) {
		usage_error("--pipe needs a command to give the blocks to "
			    "(such as cat)");
		return -1;
	}
	if (args_sources(argc, argv, i, o) != 0)
		return -1;
	if (o->block == 0)
		o->block = CLI_BLOCK;
	return args_check(o);
}

void
cli_opts_free(struct cli_opts *o)
{
	for (size_t i = 0; i < o->nretry_cmds; i++)
		free(o->retry_cmds[i]);
	free(o->retry_cmds);
	o->retry_cmds = NULL;
	o->nretry_cmds = 0;
	if (o->retry_done != NULL)
		seqset_free(o->retry_done);
	free(o->retry_done);
	o->retry_done = NULL;
	free(o->sources);
	free(o->delim);
	o->delim = NULL;
	records_free(o->records);
	o->records = NULL;
	o->sources = NULL;
	free(o->shell_path);
	o->shell_path = NULL;
	free(o->underscore);
	o->underscore = NULL;
	o->nsources = 0;
}

int
args_parse(int argc, char **argv, struct cli_opts *o)
{
	int ch;

	memset(o, 0, sizeof *o);
	o->kill_grace = 0;	/* the library's default */
	o->shell = true;	/* as in GNU parallel */
	batch_opts_init(&o->batch);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, SHORT_OPTS, long_opts, NULL)) !=
	    -1) {
		/* -l N as GNU parallel reads it: the value may follow. */
		if (ch == 'l' && optarg == NULL && optind < argc &&
		    argv[optind][0] != '\0' &&
		    strspn(argv[optind], "0123456789") == strlen(argv[optind]))
			optarg = argv[optind++];
		switch (ch) {
		case 'h':
			fputs(usage_text, stdout);
			return 1;
		case OPT_VERSION:
			printf("procq %d.%d.%d\n", PROCQ_VERSION_MAJOR,
			    PROCQ_VERSION_MINOR, PROCQ_VERSION_PATCH);
			return 1;
		case '?':
		case ':':
			args_bad_option(ch, argv);
			return -1;
		default:
			if (args_option(ch, optarg, o) != 0)
				return -1;
		}
	}
	if (o->info != 0)
		return info_run(o);
	return args_command(argc, argv, o);
}
