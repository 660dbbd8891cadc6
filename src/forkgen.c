/*
 * Knowing that we are a copy: a counter bumped in every child forked
 * from this process (a pthread_atfork child handler, installed the first
 * time a queue is made).  A queue or iterator notes the count when it is
 * made; a different count later means the call comes from a forked child,
 * at the price of a load rather than a getpid() system call on every call
 * of the API.  This is the one global state fork requires.  A child made
 * by a raw clone(2) runs no fork handler and is not seen: it must exec
 * (or _exit) without calling procq, as after vfork(2).
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>

#include "forkgen.h"

static atomic_uint forkgen_count;
static pthread_once_t forkgen_once = PTHREAD_ONCE_INIT;

static void
forkgen_child(void)
{
	atomic_fetch_add_explicit(&forkgen_count, 1, memory_order_relaxed);
}

static void
forkgen_install(void)
{
	pthread_atfork(NULL, NULL, forkgen_child);
}

unsigned
forkgen_current(void)
{
	pthread_once(&forkgen_once, forkgen_install);
	return atomic_load_explicit(&forkgen_count, memory_order_relaxed);
}
