#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "registry.h"

void
registry_init(struct registry *r)
{
	r->entries = NULL;
	r->len = r->cap = 0;
}

void
registry_release(struct registry *r)
{
	for (size_t i = 0; i < r->len; i++) {
		free(r->entries[i]->name);
		free(r->entries[i]);
	}
	free(r->entries);
	registry_init(r);
}

int
registry_add(struct registry *r, const char *name, procq_fn fn)
{
	struct registry_entry *e;

	if (registry_find(r, name, strlen(name)) != NULL)
		return PROCQ_EEXIST;
	if (r->len == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		struct registry_entry **grown;

		grown = realloc(r->entries, cap * sizeof *grown);
		if (grown == NULL)
			return PROCQ_ENOMEM;
		r->entries = grown;
		r->cap = cap;
	}
	if ((e = malloc(sizeof *e)) == NULL)
		return PROCQ_ENOMEM;
	if ((e->name = strdup(name)) == NULL) {
		free(e);
		return PROCQ_ENOMEM;
	}
	e->fn = fn;
	r->entries[r->len++] = e;
	return 0;
}

/* Names arrive from the wire without a terminating NUL, hence the length. */
const struct registry_entry *
registry_find(const struct registry *r, const char *name, size_t len)
{
	for (size_t i = 0; i < r->len; i++) {
		const struct registry_entry *e = r->entries[i];

		if (strncmp(e->name, name, len) == 0 && e->name[len] == '\0')
			return e;
	}
	return NULL;
}
