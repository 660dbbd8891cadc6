/* Monotonic and wall-clock time in seconds, as doubles. */
#ifndef PROCQ_CLOCK_H
#define PROCQ_CLOCK_H

#include <sys/time.h>
#include <time.h>

double procq_clock_now(void);
double procq_clock_wall(void);
struct timespec procq_clock_deadline(double timeout);
struct timeval procq_clock_timeval(double seconds);

#endif
