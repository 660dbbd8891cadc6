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
