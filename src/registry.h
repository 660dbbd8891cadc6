/* Task functions by name.  Frozen once workers start: the children inherit
 * it through fork.  An entry never moves once added, so a task may keep a
 * pointer to it while more names are registered. */
#ifndef PROCQ_REGISTRY_H
#define PROCQ_REGISTRY_H

#include <stddef.h>

#include "procq.h"

struct registry_entry {
	char		*name;
	procq_fn	 fn;
};

struct registry {
	struct registry_entry	**entries;
	size_t			 len;
	size_t			 cap;
};

void registry_init(struct registry *r);
void registry_release(struct registry *r);
int registry_add(struct registry *r, const char *name, procq_fn fn);
const struct registry_entry *registry_find(const struct registry *r,
    const char *name, size_t len);

#endif
