/*
 * Signals and the clock of the progress bar.  SIGINT, SIGTERM and SIGHUP
 * are caught on the main thread and written to a pipe; a watcher thread
 * reads it and cancels the run (procq_cancel), which ends every job
 * cleanly and lets the summary be printed.  A second signal of the same
 * kind is not caught, and a signal ignored on entry (nohup, a background
 * job of a shell without job control) stays ignored.  Meanwhile the watcher redraws the progress bar a
 * few times a second, so that the rate and ETA stay current.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define WATCH_TICK_MS	250

static const int watch_signals[] = { SIGINT, SIGTERM, SIGHUP };
#define WATCH_NSIGNALS	(sizeof watch_signals / sizeof watch_signals[0])

static bool watch_caught_sig[WATCH_NSIGNALS];	/* handlers installed */
static int watch_fd[2] = { -1, -1 };
static pthread_t watch_thread;
static int watch_caught;	/* the first signal; the watcher's */

static void
watch_handler(int sig)
{
	unsigned char b = (unsigned char)sig;
	int saved = errno;
	ssize_t n = write(watch_fd[1], &b, 1);

	(void)n;
	errno = saved;
}

static void
watch_tick(struct cli *c)
{
	pthread_mutex_lock(&c->lock);
	progress_draw(c);
	pthread_mutex_unlock(&c->lock);
	if (c->median != NULL)
		overdue_check(c);
}

static void *
watch_main(void *arg)
{
	struct cli *c = arg;
	struct pollfd p = { .fd = watch_fd[0], .events = POLLIN };
	unsigned char b;
	int n, tick;

	for (;;) {
		pthread_mutex_lock(&c->lock);
		tick = c->progress || c->median != NULL ? WATCH_TICK_MS : -1;
		pthread_mutex_unlock(&c->lock);
		n = poll(&p, 1, tick);
		if (n == 0) {
			watch_tick(c);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || read(watch_fd[0], &b, 1) != 1 || b == 0)
			break;
		if (watch_caught == 0) {
			watch_caught = b;
			signal(b, SIG_DFL);
			/* Not under c->lock: hooks may run in here. */
			procq_cancel(c->q);
		}
	}
	return NULL;
}

static void
watch_close(void)
{
	for (int i = 0; i < 2; i++) {
		if (watch_fd[i] >= 0)
			close(watch_fd[i]);
		watch_fd[i] = -1;
	}
}

int
watch_start(struct cli *c)
{
	struct sigaction sa;
	sigset_t all, old;
	int rc;

	if (pipe2(watch_fd, O_CLOEXEC) != 0)
		return -1;
	fcntl(watch_fd[1], F_SETFL, O_NONBLOCK);
	/* Signals go to the main thread, never to the watcher. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&watch_thread, NULL, watch_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		watch_close();
		errno = rc;
		return -1;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = watch_handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < WATCH_NSIGNALS; i++) {
		struct sigaction was;

		if (sigaction(watch_signals[i], NULL, &was) == 0 &&
		    was.sa_handler != SIG_IGN)
			watch_caught_sig[i] =
			    sigaction(watch_signals[i], &sa, NULL) == 0;
	}
	return 0;
}

int
watch_stop(void)
{
	unsigned char stop = 0;

	for (size_t i = 0; i < WATCH_NSIGNALS; i++)
		if (watch_caught_sig[i])
			signal(watch_signals[i], SIG_DFL);
	while (write(watch_fd[1], &stop, 1) < 0 && errno == EINTR)
		;
	pthread_join(watch_thread, NULL);
	watch_close();
	return watch_caught;
}
