/*
 * The queue-wide rate gate: a generic cell rate algorithm (GCRA).  It
 * never sleeps; it says when the next attempt may start.
 */
#ifndef PROCQ_RATE_H
#define PROCQ_RATE_H

#include <stdbool.h>

struct rate_gate {
	double	interval;	/* seconds per attempt; 0 = no cap */
	double	tolerance;	/* how far ahead the gate may run: the burst */
	double	tat;		/* theoretical arrival time of the next one */
};

void rate_init(struct rate_gate *g, double rate, int burst);
bool rate_take(struct rate_gate *g, double now, double *wait);
double rate_reserve(struct rate_gate *g, double now);

#endif
