/*
 * The engine's side of a group (group.c, group_policy.c): a gate admits
 * a group's tasks under its concurrency limit and rate, and a group with
 * a policy (fail-first, a cancel mode, a shield) knows its members, so
 * that one member's end can cancel the others.
 */
#ifndef PROCQ_GROUP_H
#define PROCQ_GROUP_H

#include <stdbool.h>

#include "rate.h"
#include "task.h"

/*
 * Owned by the queue, since its tasks may outlive the procq_group; freed
 * once the group is freed and no unfinished task points at it (a final
 * task never does).  Changed by the engine's owner only, q->lock held.
 */
struct group_gate {
	TAILQ_ENTRY(group_gate)	 link;
	int			 limit;		/* 0 = no limit */
	int			 admitted;
	bool			 orphaned;	/* its group was freed */
	bool			 releasing;	/* in gate_release() */
	struct rate_gate	 rate;
	TAILQ_HEAD(, procq_handle) backlog;

	/* The policy: with none, members is left empty. */
	bool			 policy;	/* any of the three below */
	bool			 fail_first;
	procq_group_cancel_mode	 cancel_mode;
	bool			 shield;
	char			*id;		/* the group's, for messages */
	procq_handle		**members;	/* in no order */
	size_t			 nmembers;
	size_t			 members_cap;
	bool			 tripped;	/* it cancelled its members */
	bool			 cancelled;	/* by a cancellation, not a
						 * failure */
	procq_result		*first_failure;	/* held; what tripped it */
};

int gate_admit_or_hold(procq_handle *t);
void gate_leave_backlog(procq_handle *t);
void gate_task_final(procq_handle *t);
void gates_free(procq_queue *q);

int group_member_add(struct group_gate *gate, procq_handle *t);
void group_member_remove(struct group_gate *gate, procq_handle *t);
void group_members_drop(struct group_gate *gate);
void group_trip_cancelled(struct group_gate *gate);
void group_policy_task_final(procq_handle *t);
void group_memberships_free(procq_handle *t);

#endif
