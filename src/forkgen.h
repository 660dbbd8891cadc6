/* Which copy of the process this is: see forkgen.c. */
#ifndef PROCQ_FORKGEN_H
#define PROCQ_FORKGEN_H

unsigned forkgen_current(void);

#endif
