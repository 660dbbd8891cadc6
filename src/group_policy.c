/*
 * A group's policy, on the engine's side: which tasks are its members,
 * and what one member's end does to the others.  Under fail-first the
 * first member to end FAILED cancels the rest (sparing must_complete
 * ones); under a cancel mode other than ignore, the first member to end
 * CANCELLED cancels the rest; a shield keeps the queue's own sweeps
 * (procq_cancel(), a run timeout, the queue's fail-first) off its
 * members.  Everything here runs on the engine's owner, q->lock held.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group.h"
#include "queue.h"
#include "result.h"

/* A task is shielded while any group it is in is. */
static void
member_shield_update(procq_handle *t)
{
	bool shielded = false;

	for (size_t i = 0; i < t->extra->ngroups; i++)
		shielded = shielded || t->extra->groups[i]->shield;
	t->shielded = shielded;
}

static int
members_grow(struct group_gate *gate)
{
	size_t cap = gate->members_cap ? gate->members_cap * 2 : 16;
	procq_handle **grown;

	if (gate->nmembers < gate->members_cap)
		return 0;
	if ((grown = realloc(gate->members, cap * sizeof *grown)) == NULL)
		return PROCQ_ENOMEM;
	gate->members = grown;
	gate->members_cap = cap;
	return 0;
}

static int
memberships_grow(struct task_extra *x)
{
	struct group_gate **grown;

	grown = realloc(x->groups, (x->ngroups + 1) * sizeof *grown);
	if (grown == NULL)
		return PROCQ_ENOMEM;
	x->groups = grown;
	return 0;
}

/* t joins the group: held until it leaves. */
int
group_member_add(struct group_gate *gate, procq_handle *t)
{
	struct task_extra *x;

	if ((x = task_extra(t)) == NULL || members_grow(gate) != 0 ||
	    memberships_grow(x) != 0)
		return PROCQ_ENOMEM;
	gate->members[gate->nmembers++] = t;
	x->groups[x->ngroups++] = gate;
	task_hold(t);
	member_shield_update(t);
	return 0;
}

/* Takes gate out of t's list; t is left alone otherwise. */
static void
membership_forget(procq_handle *t, const struct group_gate *gate)
{
	struct task_extra *x = t->extra;

	for (size_t i = 0; i < x->ngroups; i++) {
		if (x->groups[i] == gate) {
			x->groups[i] = x->groups[--x->ngroups];
			break;
		}
	}
	member_shield_update(t);
}

/* t leaves the group; it may be freed once this returns. */
void
group_member_remove(struct group_gate *gate, procq_handle *t)
{
	for (size_t i = 0; i < gate->nmembers; i++) {
		if (gate->members[i] == t) {
			gate->members[i] = gate->members[--gate->nmembers];
			membership_forget(t, gate);
			task_unhold(t);
			return;
		}
	}
}

/* The group was freed: its members owe it nothing any more. */
void
group_members_drop(struct group_gate *gate)
{
	for (size_t i = 0; i < gate->nmembers; i++) {
		membership_forget(gate->members[i], gate);
		task_unhold(gate->members[i]);
	}
	free(gate->members);
	gate->members = NULL;
	gate->nmembers = gate->members_cap = 0;
	gate->policy = false;
}

/* A freed task's list of groups (the groups themselves are the queue's). */
void
group_memberships_free(procq_handle *t)
{
	free(t->extra->groups);
	t->extra->groups = NULL;
	t->extra->ngroups = 0;
}

/* Cancels one member for the reason given, kept with it until it ends. */
static void
member_cancel(procq_handle *t, const char *reason)
{
	struct task_extra *x = t->extra;

	if (x->cancel_reason == NULL)
		x->cancel_reason = strdup(reason);
	task_cancel(t);
}

/*
 * The group cancels its unfinished members: those that must complete are
 * spared when a failure tripped it.  A member cancelled here may trip
 * another group it is in; this one, already tripped, ignores it.
 */
static void
group_trip(struct group_gate *gate, const procq_handle *by, bool failed)
{
	char reason[256];

	gate->tripped = true;
	gate->cancelled = !failed;
	if (failed && by->result != NULL)
		gate->first_failure = result_ref(by->result);
	snprintf(reason, sizeof reason,
	    "cancelled: task %s of group %s %s first", by->id, gate->id,
	    failed ? "failed" : "was cancelled");
	for (size_t i = 0; i < gate->nmembers; i++) {
		procq_handle *t = gate->members[i];

		if (t == by || t->state == TASK_DONE || t->cancel_requested)
			continue;
		if (failed && t->must_complete)
			continue;
		member_cancel(t, reason);
	}
}

/* The group itself was cancelled (procq_group_cancel()): under a cancel
 * mode other than ignore, that is its cancellation. */
void
group_trip_cancelled(struct group_gate *gate)
{
	if (!gate->policy || gate->tripped ||
	    gate->cancel_mode == PROCQ_GROUP_CANCEL_IGNORE)
		return;
	gate->tripped = true;
	gate->cancelled = true;
}

/* What t's end does to the groups it is in: a final-task listener. */
void
group_policy_task_final(procq_handle *t)
{
	procq_status status = task_status(t);

	if (t->extra == NULL || t->extra->ngroups == 0)
		return;
	/* A trip below can cancel t's other groups' members, but never
	 * changes t's own list. */
	for (size_t i = 0; i < t->extra->ngroups; i++) {
		struct group_gate *gate = t->extra->groups[i];

		if (gate->tripped)
			continue;
		if (status == PROCQ_FAILED && gate->fail_first)
			group_trip(gate, t, true);
		else if (status == PROCQ_CANCELLED &&
		    gate->cancel_mode != PROCQ_GROUP_CANCEL_IGNORE)
			group_trip(gate, t, false);
	}
}
