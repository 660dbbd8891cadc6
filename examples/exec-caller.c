/*
 * exec-caller: run tasks in workers that are a separate program,
 * exec-worker, rather than copies of this one.  Only the worker program
 * has the task functions: this program names them, and procq learns from
 * the first worker which names there are, so a name the worker does not
 * have fails at submit.
 *
 * Usage: exec-caller [WORKER]   the worker program (default: exec-worker
 *                               in the directory of this program)
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <procq.h>

static const char *const texts[] = {
	"the cat and the hat",
	"a tale of two cities",
	"procq runs tasks in worker processes",
};
#define NTEXTS	(sizeof texts / sizeof texts[0])

/* exec-worker next to this program's own file. */
static int
worker_next_to_me(char *path, size_t size)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);

	if (n < 0)
		return -1;
	self[n] = '\0';
	if ((size_t)snprintf(path, size, "%s/exec-worker", dirname(self)) >=
	    size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	char path[PATH_MAX];
	procq_config cfg = { .workers = 2, .start_method = PROCQ_START_EXEC };
	procq_handle *hs[NTEXTS], *crash, *h = NULL;
	procq_queue *q;
	int err, rc, words, kept, status = 0;

	if (argc > 1)
		snprintf(path, sizeof path, "%s", argv[1]);
	else if (worker_next_to_me(path, sizeof path) != 0) {
		perror("exec-caller: cannot find exec-worker");
		return 1;
	}
	cfg.worker_path = path;
	if ((q = procq_create(&cfg, &err)) == NULL) {
		fprintf(stderr, "exec-caller: %s\n", procq_strerror(err));
		return 1;
	}
	/* procq_start() returns once the first worker has said hello, with
	 * the names of its tasks. */
	if ((err = procq_start(q)) != 0) {
		fprintf(stderr, "exec-caller: %s\n", procq_strerror(err));
		procq_free(q);
		return 1;
	}
	rc = procq_submitf(q, "spellcheck", NULL, &h, "s", "teh");
	printf("spellcheck: %s\n", rc == PROCQ_ENOTASK ?
	    "the worker program has no such task" : procq_strerror(rc));
	if (rc != PROCQ_ENOTASK)
		status = 1;
	for (size_t i = 0; i < NTEXTS; i++) {
		if ((err = procq_submitf(q, "wordcount", NULL, &hs[i], "s",
		    texts[i])) != 0) {
			fprintf(stderr, "exec-caller: %s\n",
			    procq_strerror(err));
			procq_free(q);
			return 1;
		}
	}
	if ((err = procq_submitf(q, "crash", NULL, &crash, "")) != 0) {
		fprintf(stderr, "exec-caller: %s\n", procq_strerror(err));
		procq_free(q);
		return 1;
	}
	for (size_t i = 0; i < NTEXTS; i++) {
		procq_handle_wait(hs[i], PROCQ_FOREVER);
		if (procq_handle_value(hs[i], "ii", &words, &kept) != 0) {
			printf("wordcount: failed: %s\n",
			    procq_handle_error_message(hs[i]));
			status = 1;
		} else
			printf("wordcount(\"%s\") = %d words, %d kept\n",
			    texts[i], words, kept);
		procq_handle_release(hs[i]);
	}
	procq_handle_wait(crash, PROCQ_FOREVER);
	printf("crash: %s\n", procq_handle_status(crash) == PROCQ_FAILED ?
	    procq_handle_error_message(crash) : "did not fail");
	procq_handle_release(crash);
	procq_free(q);
	return status;
}
