/*
 * The writer thread: the one place where the jobs' output, procq's
 * notices and the progress bar are written, so that a slow reader of
 * procq's output holds up nothing but this thread: the queue's hooks
 * only hand it spools (a FIFO of pieces), and the jobs' durations and
 * timeouts never wait for a write.
 *
 * Being the only writer to the terminal, it knows what is on it: the bar
 * is taken down before output to that terminal, and put back on a line
 * of its own when the output left one unfinished, so that it never
 * overwrites a job's output.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"

/* Seconds between two redraws of the bar. */
#define WRITER_BAR_INTERVAL	0.1
/* Bytes read at a time from the spool file. */
#define WRITER_SCRATCH		(256 * 1024)

struct piece {
	struct piece	*next;
	int		 fd;
	bool		 notice;	/* said even after output failed */
	struct spool	 sp;
};

static struct {
	/* Under lock: what the other threads hand over. */
	pthread_mutex_t	 lock;
	pthread_cond_t	 wake;
	bool		 running;
	bool		 stopping;
	struct piece	*head;
	struct piece   **tail;
	struct piece	*last[3];	/* the last piece queued for fd 1, 2 */
	bool		 bar;		/* the bar is wanted */
	bool		 bar_new;	/* counts not yet drawn */
	struct progress_counts counts;

	/* The writer's own (the main thread's before and after). */
	struct cli	*c;
	pthread_t	 thread;
	bool		 failed;	/* output is over: only notices now */
	bool		 term;		/* stderr is a terminal, for the bar */
	bool		 tty_out;	/* stdout is the bar's terminal */
	bool		 bar_on;	/* the bar is on the terminal */
	bool		 bar_down;	/* taken down for output: to be redrawn */
	double		 bar_time;	/* when it was last drawn */
	bool		 line_open;	/* the terminal's last line is unfinished */
	char		*scratch;
} w = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Writes to fd reach the terminal the bar is on. */
static bool
writer_tty(int fd)
{
	return fd == STDERR_FILENO || (fd == STDOUT_FILENO && w.tty_out);
}

static bool
writer_same_tty(void)
{
	struct stat out, err;

	return isatty(STDOUT_FILENO) && isatty(STDERR_FILENO) &&
	    fstat(STDOUT_FILENO, &out) == 0 &&
	    fstat(STDERR_FILENO, &err) == 0 && out.st_rdev == err.st_rdev;
}

static int
writer_width(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_col < 2)
		return 80;
	return ws.ws_col;
}

static void
writer_erase(void)
{
	static const char erase[] = "\r\033[K";

	if (!w.bar_on)
		return;
	w.bar_on = false;
	if (write_all(STDERR_FILENO, erase, sizeof erase - 1) != 0)
		w.failed = true;
}

/* On a line of its own, in place, cut to the terminal's width so that it
 * never wraps (a wrapped bar cannot be redrawn in place). */
static void
writer_draw(const struct progress_counts *pc)
{
	char line[512];
	size_t n = 0;
	int len;

	if (w.line_open)
		line[n++] = '\n';
	line[n++] = '\r';
	len = progress_format(line + n, sizeof line - n - 3, pc,
	    writer_width());
	if (len < 0)
		return;
	n += (size_t)len;
	memcpy(line + n, "\033[K", 3);
	n += 3;
	if (write_all(STDERR_FILENO, line, n) != 0) {
		w.failed = true;
		return;
	}
	w.line_open = false;
	w.bar_on = true;
	w.bar_time = cli_clock();
}

/* The first failure ends the run (cli_error() semantics); the queue is
 * cancelled without c->lock, which a hook may be waiting for. */
static void
writer_fail(int fd, int err)
{
	struct cli *c = w.c;
	const char *what;
	procq_queue *q;
	bool first;

	w.failed = true;
	writer_erase();
	pthread_mutex_lock(&c->lock);
	what = fd == STDOUT_FILENO ? "standard output" : "standard error";
	first = cli_error(c, what, err);
	q = c->q;
	pthread_mutex_unlock(&c->lock);
	if (first && q != NULL)
		procq_cancel(q);
}

static void
writer_put(struct piece *p)
{
	bool tty = writer_tty(p->fd);
	char last = '\n';

	if (w.failed && !p->notice)
		return;
	if (tty && w.bar_on) {
		writer_erase();
		w.bar_down = true;
	}
	if (spool_write(&p->sp, p->fd, w.scratch, WRITER_SCRATCH, &last)) {
		if (!p->notice)
			writer_fail(p->fd, errno);
		return;
	}
	if (tty && !spool_empty(&p->sp))
		w.line_open = last != '\n';
}

static void
writer_free(struct piece *p)
{
	spool_free(&p->sp);
	free(p);
}

/* The oldest piece, taken out of the queue; w.lock held. */
static struct piece *
writer_pop(void)
{
	struct piece *p = w.head;

	if ((w.head = p->next) == NULL)
		w.tail = &w.head;
	if (w.last[p->fd] == p)
		w.last[p->fd] = NULL;
	return p;
}

/* Seconds until the bar is due, 0 to draw it now, < 0 not at all. */
static double
writer_bar_wait(void)
{
	double wait;

	if (!w.bar || w.failed)
		return w.bar_on ? 0 : -1;	/* to be taken down */
	if (!w.bar_new && !w.bar_down)
		return -1;
	wait = w.bar_time + WRITER_BAR_INTERVAL - cli_clock();
	return wait > 0 ? wait : 0;
}

/* Draws or takes down the bar; w.lock held, released meanwhile. */
static void
writer_bar_now(void)
{
	struct progress_counts pc = w.counts;
	bool show = w.bar && !w.failed;

	w.bar_new = false;
	w.bar_down = false;
	pthread_mutex_unlock(&w.lock);
	if (show)
		writer_draw(&pc);
	else
		writer_erase();
	pthread_mutex_lock(&w.lock);
}

static void
writer_sleep(double secs)
{
	struct timespec ts;

	if (secs < 0) {
		pthread_cond_wait(&w.wake, &w.lock);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)secs;
	ts.tv_nsec += (long)((secs - (double)(time_t)secs) * 1e9);
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&w.wake, &w.lock, &ts);
}

static void *
writer_main(void *arg)
{
	struct piece *p;
	double wait;

	(void)arg;
	pthread_mutex_lock(&w.lock);
	for (;;) {
		if (w.head != NULL) {
			p = writer_pop();
			pthread_mutex_unlock(&w.lock);
			writer_put(p);
			writer_free(p);
			pthread_mutex_lock(&w.lock);
			continue;
		}
		if (w.stopping)
			break;
		if ((wait = writer_bar_wait()) == 0)
			writer_bar_now();
		else
			writer_sleep(wait);
	}
	pthread_mutex_unlock(&w.lock);
	return NULL;
}

static int
writer_cond_init(void)
{
	pthread_condattr_t attr;
	int rc;

	if ((rc = pthread_condattr_init(&attr)) != 0)
		return rc;
	if ((rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)) == 0)
		rc = pthread_cond_init(&w.wake, &attr);
	pthread_condattr_destroy(&attr);
	return rc;
}

/*
 * Starts the thread, with every signal blocked: the main thread takes
 * them, and a reader that went away is an EPIPE here, not a SIGPIPE.
 * bar: stderr is a terminal to draw the progress bar on.
 */
int
writer_start(struct cli *c, bool bar)
{
	sigset_t all, old;
	int rc;

	w.c = c;
	w.tail = &w.head;
	w.term = bar;
	w.tty_out = bar && writer_same_tty();
	w.bar_time = -WRITER_BAR_INTERVAL;
	if ((w.scratch = malloc(WRITER_SCRATCH)) == NULL)
		return -1;
	if ((rc = writer_cond_init()) != 0) {
		free(w.scratch);
		errno = rc;
		return -1;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&w.thread, NULL, writer_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_cond_destroy(&w.wake);
		free(w.scratch);
		errno = rc;
		return -1;
	}
	pthread_mutex_lock(&w.lock);
	w.running = true;
	pthread_mutex_unlock(&w.lock);
	return 0;
}

/* Everything queued is written, the bar taken down, the thread gone.
 * On the terminal, what comes next (the summary) starts a line. */
void
writer_stop(void)
{
	pthread_mutex_lock(&w.lock);
	if (!w.running) {
		pthread_mutex_unlock(&w.lock);
		return;
	}
	w.stopping = true;
	pthread_cond_signal(&w.wake);
	pthread_mutex_unlock(&w.lock);
	pthread_join(w.thread, NULL);
	pthread_mutex_lock(&w.lock);
	w.running = false;
	pthread_mutex_unlock(&w.lock);
	writer_erase();
	if (w.term && w.line_open && write_all(STDERR_FILENO, "\n", 1) == 0)
		w.line_open = false;
	pthread_cond_destroy(&w.wake);
	free(w.scratch);
	w.scratch = NULL;
}

/* w.lock held. */
static void
writer_link(struct piece *p)
{
	*w.tail = p;
	w.tail = &p->next;
	if (!p->notice)
		w.last[p->fd] = p;
	pthread_cond_signal(&w.wake);
}

/* Takes the spool (left empty) to be written to fd after everything
 * queued before it. */
int
writer_queue(int fd, struct spool *sp)
{
	struct piece *p;

	if ((p = calloc(1, sizeof *p)) == NULL)
		return -1;
	p->fd = fd;
	p->sp = *sp;
	memset(sp, 0, sizeof *sp);
	pthread_mutex_lock(&w.lock);
	writer_link(p);
	pthread_mutex_unlock(&w.lock);
	return 0;
}

/*
 * Bytes to be written to fd: added to the last piece queued for fd if
 * it is still waiting, so that what comes while the writer is busy goes
 * out in one write.  What is queued for the other descriptor may then be
 * written first.
 */
int
writer_append(int fd, const void *p, size_t len)
{
	struct piece *piece;
	int rc;

	pthread_mutex_lock(&w.lock);
	if ((piece = w.last[fd]) != NULL) {
		rc = spool_append(&piece->sp, p, len);
		pthread_mutex_unlock(&w.lock);
		return rc;
	}
	pthread_mutex_unlock(&w.lock);
	if ((piece = calloc(1, sizeof *piece)) == NULL)
		return -1;
	piece->fd = fd;
	if (spool_append(&piece->sp, p, len) != 0) {
		writer_free(piece);
		return -1;
	}
	pthread_mutex_lock(&w.lock);
	writer_link(piece);
	pthread_mutex_unlock(&w.lock);
	return 0;
}

/* A message of procq on stderr, after what is queued; written now when
 * there is no writer thread. */
void
writer_notice(const char *msg)
{
	struct piece *p;
	size_t len = strlen(msg);
	bool running;

	if ((p = calloc(1, sizeof *p)) == NULL)
		return;
	p->fd = STDERR_FILENO;
	p->notice = true;
	pthread_mutex_lock(&w.lock);
	if ((running = w.running) && spool_append(&p->sp, msg, len) == 0) {
		writer_link(p);
		p = NULL;
	}
	pthread_mutex_unlock(&w.lock);
	if (p != NULL)
		writer_free(p);
	if (running)
		return;
	writer_erase();
	if (write_all(STDERR_FILENO, msg, len) == 0)
		w.line_open = false;
}

/* New counts for the bar, drawn when the last drawing is old enough. */
void
writer_bar(const struct progress_counts *pc)
{
	pthread_mutex_lock(&w.lock);
	if (w.running) {
		w.bar = true;
		w.bar_new = true;
		w.counts = *pc;
		pthread_cond_signal(&w.wake);
	}
	pthread_mutex_unlock(&w.lock);
}

/* The bar goes away until new counts come. */
void
writer_bar_hide(void)
{
	bool running;

	pthread_mutex_lock(&w.lock);
	if ((running = w.running)) {
		w.bar = false;
		pthread_cond_signal(&w.wake);
	}
	pthread_mutex_unlock(&w.lock);
	if (!running)
		writer_erase();
}
