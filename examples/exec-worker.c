/*
 * exec-worker: the worker program of exec-caller.  A queue whose start
 * method is exec runs it once per worker; it does its own setup first
 * (here, it builds a table of stop words, the kind of work an initializer
 * would do in a forked worker), then hands over to procq_worker_main(),
 * which runs the tasks of its table for as long as the queue wants it.
 *
 * Run by hand it says it is a worker program, and exits with status 2.
 */
#include <ctype.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <procq.h>

/* Built once per worker process, before its first task. */
static const char *stop_words[16];
static size_t nstop;

static void
load_stop_words(void)
{
	static const char *const words[] = {
		"a", "an", "and", "of", "the", "to"
	};

	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		stop_words[nstop++] = words[i];
}

static int
is_stop_word(const char *w, size_t len)
{
	for (size_t i = 0; i < nstop; i++) {
		if (strlen(stop_words[i]) == len &&
		    strncmp(stop_words[i], w, len) == 0)
			return 1;
	}
	return 0;
}

/* wordcount (s text) -> [words, words that are not stop words] */
static int
task_wordcount(procq_call *c)
{
	const char *text, *p, *start;
	int words = 0, kept = 0;

	if (procq_call_unpack(c, "s", &text) != 0 || text == NULL)
		return procq_call_fail(c, "ArgError", "wordcount wants (s)");
	for (p = text; *p != '\0';) {
		while (*p != '\0' && !isalpha((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		for (start = p; isalpha((unsigned char)*p); p++)
			;
		words++;
		kept += !is_stop_word(start, (size_t)(p - start));
	}
	return procq_call_return(c, "ii", words, kept);
}

/* crash () -> never returns: its worker dies, the next one takes over */
static int
task_crash(procq_call *c)
{
	(void)c;
	raise(SIGSEGV);
	return 0;
}

static const procq_worker_task tasks[] = {
	{ "wordcount", task_wordcount },
	{ "crash", task_crash },
	{ NULL, NULL }
};

int
main(int argc, char **argv)
{
	load_stop_words();
	return procq_worker_main(argc, argv, tasks);
}
