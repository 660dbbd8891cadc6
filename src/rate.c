#include "config.h"

#include "rate.h"

void
rate_init(struct rate_gate *g, double rate, int burst)
{
	g->interval = rate > 0 ? 1.0 / rate : 0;
	g->tolerance = burst > 1 ? (burst - 1) * g->interval : 0;
	g->tat = 0;
}

/* Takes a slot at time now if one is free; otherwise *wait is how long
 * until one will be. */
bool
rate_take(struct rate_gate *g, double now, double *wait)
{
	double tat;

	if (g->interval == 0)
		return true;
	tat = g->tat > now ? g->tat : now;
	if (tat - now > g->tolerance) {
		*wait = tat - g->tolerance - now;
		return false;
	}
	g->tat = tat + g->interval;
	return true;
}

/* Takes the next slot whenever it comes: how long until it does. */
double
rate_reserve(struct rate_gate *g, double now)
{
	double tat, wait;

	if (g->interval == 0)
		return 0;
	tat = g->tat > now ? g->tat : now;
	wait = tat - g->tolerance - now;
	g->tat = tat + g->interval;
	return wait > 0 ? wait : 0;
}
