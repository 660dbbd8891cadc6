/*
 * The progress bar: one line on standard error, redrawn in place, only
 * when standard error is a terminal.  Called with c->lock held.
 */
#include "config.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* Seconds between two redraws, unless the bar was taken down. */
#define PROGRESS_MIN_INTERVAL	0.1

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

void
progress_draw(struct cli *c)
{
	double now, elapsed, rate;
	char line[160], eta[32];
	int n;

	if (!c->progress || c->error != 0)
		return;
	now = cli_clock();
	if (c->bar_shown && now - c->bar_time < PROGRESS_MIN_INTERVAL)
		return;
	c->bar_time = now;
	elapsed = now - c->t0;
	rate = elapsed > 0 ? (double)c->done / elapsed : 0;
	progress_eta(eta, sizeof eta, rate > 0 ?
	    (double)(c->njobs - c->done) / rate : -1);
	n = snprintf(line, sizeof line, "\r[%zu/%zu] %zu failed, %zu running, "
	    "%.1f/s, ETA %s\033[K", c->done, c->njobs, c->failed, c->running,
	    rate, eta);
	if (n > 0 && (size_t)n < sizeof line &&
	    write_all(STDERR_FILENO, line, (size_t)n) == 0)
		c->bar_shown = true;
}

void
progress_clear(struct cli *c)
{
	static const char erase[] = "\r\033[K";

	if (!c->bar_shown)
		return;
	c->bar_shown = false;
	if (write_all(STDERR_FILENO, erase, sizeof erase - 1) != 0)
		c->progress = false;
}
