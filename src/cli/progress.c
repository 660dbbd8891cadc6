/*
 * The progress bar: one line on standard error, redrawn in place, only
 * when standard error is a terminal.  The hooks and the watcher only hand
 * the counts over (c->lock held): the writer thread (writer.c) draws the
 * bar, between the jobs' output.
 */
#include "config.h"

#include <stdio.h>
#include <time.h>

#include "spool.h"

#define PROGRESS_FORMAT "[%zu/%zu] %zu failed, %zu running, %.1f/s, ETA %s"

double
cli_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The time of day, as the joblog and the JSON report give it. */
double
cli_wallclock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
progress_eta(char *buf, size_t len, double secs)
{
	long s = (long)(secs + 0.5);

	if (secs < 0 || secs > 360000)
		snprintf(buf, len, "--:--");
	else if (s >= 3600)
		snprintf(buf, len, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60,
		    s % 60);
	else
		snprintf(buf, len, "%ld:%02ld", s / 60, s % 60);
}

/*
 * The bar's text, cut to width - 1 columns (it is all ASCII): a line as
 * wide as the terminal would move the cursor to the next one, and \r
 * would then redraw only the bar's last row.  Returns its length.
 */
int
progress_format(char *buf, size_t len, const struct progress_counts *pc,
    int width)
{
	double elapsed, rate, left;
	char eta[32];
	int n;

	elapsed = cli_clock() - pc->t0;
	rate = elapsed > 0 ? (double)pc->done / elapsed : 0;
	left = rate > 0 ? (double)(pc->total - pc->done) / rate : -1;
	progress_eta(eta, sizeof eta, left);
	n = snprintf(buf, len, PROGRESS_FORMAT, pc->done, pc->total,
	    pc->failed, pc->running, rate, eta);
	if (n < 0)
		return -1;
	if ((size_t)n >= len)
		n = (int)len - 1;
	if (width > 1 && n > width - 1)
		n = width - 1;
	buf[n] = '\0';
	return n;
}

void
progress_draw(struct cli *c)
{
	struct progress_counts pc;

	if (!c->progress || c->error != 0)
		return;
	pc.done = c->summary.totals.submitted;
	pc.total = c->njobs;
	pc.failed = c->summary.totals.failed;
	pc.running = c->running;
	pc.t0 = c->t0;
	writer_bar(&pc);
}

void
progress_clear(struct cli *c)
{
	(void)c;
	writer_bar_hide();
}
