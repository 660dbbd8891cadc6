/*
 * Groups: many handles under one id, waited for and collected together.
 * A group with a concurrency limit or a rate admits its tasks to the queue
 * through a gate; the rest wait in the gate's backlog.  A group with a
 * policy has a gate too, which knows its members (group_policy.c).
 */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "command.h"
#include "group.h"
#include "loop.h"
#include "queue.h"
#include "result.h"
#include "submit.h"
#include "wait.h"
#include "clock.h"

/*
 * g->w's lock also guards the lists and counts: groups may be used from
 * several threads at once.  The waiter tells a member's place in slots,
 * which never moves; handles is the members in the order they joined,
 * closed up when one leaves (procq_group_remove()), which leaves its slot
 * NULL.
 */
struct procq_group {
	procq_queue		*q;
	char			*id;
	struct group_gate	*gate;		/* NULL: no gate, no policy */
	bool			 policy;	/* the gate keeps members */
	procq_handle		**handles;
	size_t			 n;
	procq_handle		**slots;
	size_t			 nslots;
	size_t			 cap;		/* of both lists */
	size_t			 next;		/* procq_group_next() cursor
						 * into the waiter's list */
	size_t			 returned;	/* members it gave */
	size_t			 watching;	/* added, watch not yet posted */
	struct waiter		*w;
};

/* Admits a task now, or keeps it in its gate's backlog.  q->lock held. */
static void
gate_admit(struct group_gate *gate, procq_handle *t)
{
	double now = procq_clock_now();
	double wait = rate_reserve(&gate->rate, now);

	gate->admitted++;
	t->admitted = 1;
	if (wait > 0 && t->due < now + wait)
		t->due = now + wait;
}

int
gate_admit_or_hold(procq_handle *t)
{
	struct group_gate *gate = t->gate;

	if (gate->policy && group_member_add(gate, t) != 0)
		return PROCQ_ENOMEM;
	if (gate->limit > 0 && gate->admitted >= gate->limit) {
		TAILQ_INSERT_TAIL(&gate->backlog, t, worker_link);
		task_move(t, TASK_BACKLOG);
		t->q->backlogged++;
		return 0;
	}
	gate_admit(gate, t);
	if (task_enqueue(t) != 0) {
		/* Not submitted after all: its place is given back. */
		gate->admitted--;
		t->admitted = 0;
		return PROCQ_ENOMEM;
	}
	return 0;
}

/* A task that cannot be queued is finished here, which comes back to
 * gate_task_final(): gate->releasing tells it to leave the rest to this
 * loop, and the gate to this function's caller. */
static void
gate_release(struct group_gate *gate)
{
	procq_handle *t;

	gate->releasing = true;
	while ((t = TAILQ_FIRST(&gate->backlog)) != NULL &&
	    (gate->limit == 0 || gate->admitted < gate->limit)) {
		task_unplace(t);
		gate_admit(gate, t);
		task_requeue(t);
	}
	gate->releasing = false;
}

static void
gate_free(struct group_gate *gate)
{
	free(gate->members);
	result_unref(gate->first_failure);
	free(gate->id);
	free(gate);
}

/* The gate of a freed group goes with its last task.  q->lock held. */
static void
gate_reclaim(procq_queue *q, struct group_gate *gate)
{
	if (!gate->orphaned || gate->admitted > 0 ||
	    !TAILQ_EMPTY(&gate->backlog))
		return;
	TAILQ_REMOVE(&q->gates, gate, link);
	gate_free(gate);
}

/* A task leaves its gate's backlog without being admitted (task_unplace()). */
void
gate_leave_backlog(procq_handle *t)
{
	TAILQ_REMOVE(&t->gate->backlog, t, worker_link);
	t->q->backlogged--;
}

/* A task of a gate is final: its place goes to the next one, and it no
 * longer points at the gate, which may then go.  A final-task listener. */
void
gate_task_final(procq_handle *t)
{
	struct group_gate *gate = t->gate;

	if (gate == NULL)
		return;
	t->gate = NULL;
	if (t->admitted) {
		t->admitted = 0;
		gate->admitted--;
	}
	if (gate->releasing)
		return;
	gate_release(gate);
	gate_reclaim(t->q, gate);
}

void
gates_free(procq_queue *q)
{
	struct group_gate *gate;

	while ((gate = TAILQ_FIRST(&q->gates)) != NULL) {
		TAILQ_REMOVE(&q->gates, gate, link);
		gate_free(gate);
	}
}

static int
group_opts_check(const procq_group_opts *o)
{
	if (o->concurrency < 0 || !isfinite(o->rate) || o->rate < 0 ||
	    o->burst < 0)
		return PROCQ_EINVAL;
	if ((unsigned)o->fail_policy > PROCQ_FAIL_FIRST ||
	    (unsigned)o->cancel_mode > PROCQ_GROUP_CANCEL_QUIET)
		return PROCQ_EINVAL;
	return 0;
}

static int
gate_link_cmd(procq_queue *q, void *arg)
{
	struct group_gate *gate = arg;

	TAILQ_INSERT_TAIL(&q->gates, gate, link);
	return 0;
}

/* Does the engine act for the group when its members end? */
static bool
group_opts_policy(const procq_group_opts *o)
{
	return o->fail_policy == PROCQ_FAIL_FIRST ||
	    o->cancel_mode != PROCQ_GROUP_CANCEL_IGNORE || o->shield;
}

static bool
group_opts_gated(const procq_group_opts *o)
{
	return o->concurrency > 0 || o->rate > 0 || group_opts_policy(o);
}

static struct group_gate *
group_gate_new(procq_queue *q, const procq_group_opts *o, const char *id)
{
	struct group_gate *gate;

	if ((gate = calloc(1, sizeof *gate)) == NULL)
		return NULL;
	if ((gate->id = strdup(id)) == NULL) {
		free(gate);
		return NULL;
	}
	gate->policy = group_opts_policy(o);
	gate->fail_first = o->fail_policy == PROCQ_FAIL_FIRST;
	gate->cancel_mode = o->cancel_mode;
	gate->shield = o->shield;
	gate->limit = o->concurrency;
	rate_init(&gate->rate, o->rate, o->burst > 0 ? o->burst : 1);
	TAILQ_INIT(&gate->backlog);
	/* Waited for: the group's first submit may land in the same batch,
	 * and submits are placed before posted commands run. */
	command_call(q, gate_link_cmd, gate);
	return gate;
}

procq_group *
procq_group_create(procq_queue *q, const procq_group_opts *opts, int *err)
{
	static const procq_group_opts defaults;
	procq_group *g;
	char id[24];
	int rc = PROCQ_ENOMEM;

	if (opts == NULL)
		opts = &defaults;
	if (q == NULL || group_opts_check(opts) != 0) {
		rc = PROCQ_EINVAL;
		goto fail;
	}
	if (queue_forked(q)) {
		rc = PROCQ_EFORKED;
		goto fail;
	}
	if ((g = calloc(1, sizeof *g)) == NULL)
		goto fail;
	if (opts->id == NULL)
		snprintf(id, sizeof id, "g-%016" PRIx64,
		    q->id_base + q->next_id++);
	g->q = q;
	g->id = strdup(opts->id != NULL ? opts->id : id);
	if (g->id == NULL || (g->w = waiter_new()) == NULL) {
		free(g->id);
		free(g);
		goto fail;
	}
	g->policy = group_opts_policy(opts);
	if (group_opts_gated(opts) &&
	    (g->gate = group_gate_new(q, opts, g->id)) == NULL) {
		waiter_free(g->w);
		free(g->id);
		free(g);
		goto fail;
	}
	q->watchers++;
	if (err != NULL)
		*err = 0;
	return g;
fail:
	if (err != NULL)
		*err = rc;
	return NULL;
}

/* Makes room for one more handle, and for its position in the group's
 * waiter, so that adding cannot fail after the task was submitted.
 * g->w's lock held. */
static int
group_reserve(procq_group *g)
{
	size_t cap;
	procq_handle **hs, **slots;

	if (g->nslots < g->cap)
		return 0;
	cap = g->cap ? g->cap * 2 : 16;
	if (waiter_reserve(g->w, cap) != 0)
		return PROCQ_ENOMEM;
	if ((hs = realloc(g->handles, cap * sizeof *hs)) == NULL)
		return PROCQ_ENOMEM;
	g->handles = hs;
	if ((slots = realloc(g->slots, cap * sizeof *slots)) == NULL)
		return PROCQ_ENOMEM;
	g->slots = slots;
	g->cap = cap;
	return 0;
}

static int
group_reserve_locked(procq_group *g)
{
	int rc;

	waiter_lock(g->w);
	rc = group_reserve(g);
	waiter_unlock(g->w);
	return rc;
}

/* Adds h at the end; g->w's lock held.  Returns its slot, or -1 out of
 * memory. */
static ssize_t
group_push(procq_group *g, procq_handle *h)
{
	size_t pos;

	if (group_reserve(g) != 0)
		return -1;
	pos = g->nslots++;
	g->slots[pos] = h;
	g->handles[g->n++] = h;
	g->watching++;
	return (ssize_t)pos;
}

/* Watches h, which group_push() added at pos: a removal waits until the
 * watch is posted, so that its own command comes after it. */
static void
group_watch(procq_group *g, procq_handle *h, size_t pos)
{
	waiter_watch(g->w, h, pos);
	waiter_lock(g->w);
	if (--g->watching == 0)
		waiter_wake(g->w);
	waiter_unlock(g->w);
}

/* Adds h; room was reserved.  The watch comes after the lock is dropped:
 * the queue's lock is taken before a waiter's, never after. */
static int
group_append(procq_group *g, procq_handle *h)
{
	ssize_t pos;

	waiter_lock(g->w);
	pos = group_push(g, h);
	waiter_unlock(g->w);
	if (pos < 0)
		return PROCQ_ENOMEM;
	group_watch(g, h, (size_t)pos);
	return 0;
}

/* A copy of the group's handles, to wait on without its lock. */
static procq_handle **
group_snapshot(procq_group *g, size_t *n)
{
	procq_handle **hs;

	waiter_lock(g->w);
	*n = g->n;
	if ((hs = malloc((g->n ? g->n : 1) * sizeof *hs)) != NULL && g->n > 0)
		memcpy(hs, g->handles, g->n * sizeof *hs);
	waiter_unlock(g->w);
	return hs;
}

int
procq_group_submit(procq_group *g, const char *name, const void *args,
    size_t args_len, const procq_opts *opts, procq_handle **handle)
{
	const procq_opts *op;
	procq_handle *h = NULL;
	procq_opts o;
	int rc;

	if (handle != NULL)
		*handle = NULL;
	if (g == NULL || name == NULL)
		return PROCQ_EINVAL;
	o = opts != NULL ? *opts : (procq_opts){ 0 };
	o.group = g->id;
	op = &o;
	if ((rc = submit_prepare(g->q, &args, &args_len, &op, -1)) != 0)
		return rc;
	if ((rc = group_reserve_locked(g)) != 0)
		return rc;
	rc = submit_post(g->q, name, args, args_len, op, -1, g->gate, &h);
	if (rc != 0)
		return rc;
	if (group_append(g, h) != 0) {
		/* Room was reserved, but another thread took it first. */
		procq_handle_cancel(h);
		return PROCQ_ENOMEM;
	}
	if (handle != NULL)
		*handle = h;
	return 0;
}

int
procq_group_submitf(procq_group *g, const char *name, const procq_opts *opts,
    procq_handle **handle, const char *fmt, ...)
{
	struct tuple_buf tb;
	va_list ap;
	int rc;

	if (handle != NULL)
		*handle = NULL;
	va_start(ap, fmt);
	rc = pack_tuple(&tb, fmt, ap);
	va_end(ap);
	if (rc == 0)
		rc = procq_group_submit(g, name, tb.data, tb.size, opts, handle);
	tuple_buf_release(&tb);
	return rc;
}

/* Undoes a partly submitted batch: what it submitted is cancelled (and
 * stays in the group, cancelled). */
static void
group_cancel_from(procq_group *g, size_t from)
{
	procq_handle **hs;
	size_t n;

	if ((hs = group_snapshot(g, &n)) == NULL)
		return;
	for (size_t i = from; i < n; i++)
		procq_handle_cancel(hs[i]);
	free(hs);
}

/* The whole map as one command to the engine; then each handle joins the
 * group.  One that cannot (out of memory) is cancelled with the rest. */
static int
group_map_batch(procq_group *g, const char *name, const procq_args *args,
    size_t n, const procq_opts *opts)
{
	procq_opts o = opts != NULL ? *opts : (procq_opts){ 0 };
	procq_handle **hs;
	size_t first = procq_group_size(g), joined = 0;
	int rc;

	o.group = g->id;
	if ((hs = calloc(n, sizeof *hs)) == NULL)
		return PROCQ_ENOMEM;
	if ((rc = submit_post_batch(g->q, name, args, n, &o, g->gate,
	    hs)) != 0) {
		free(hs);
		return rc;
	}
	while (joined < n && (rc = group_append(g, hs[joined])) == 0)
		joined++;
	if (rc != 0) {
		for (size_t k = joined; k < n; k++)
			procq_handle_cancel(hs[k]);
		group_cancel_from(g, first);
	}
	free(hs);
	return rc;
}

int
procq_group_map(procq_group *g, const char *name, const procq_args *args,
    size_t n, const procq_opts *opts)
{
	size_t first;
	int rc = 0;

	if (g == NULL || name == NULL || (args == NULL && n > 0))
		return PROCQ_EINVAL;
	if (queue_forked(g->q))
		return PROCQ_EFORKED;
	if (g->q->cfg.size == 0 && n > 0)
		return group_map_batch(g, name, args, n, opts);
	first = procq_group_size(g);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = procq_group_submit(g, name, args[i].data, args[i].len,
		    opts, NULL);
	if (rc != 0)
		group_cancel_from(g, first);
	return rc;
}

int
procq_group_jobs(procq_group *g, const procq_job *jobs, size_t n)
{
	size_t first;
	int rc = 0;

	if (g == NULL || (jobs == NULL && n > 0))
		return PROCQ_EINVAL;
	if (queue_forked(g->q))
		return PROCQ_EFORKED;
	first = procq_group_size(g);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = procq_group_submit(g, jobs[i].name, jobs[i].args.data,
		    jobs[i].args.len, jobs[i].opts, NULL);
	if (rc != 0)
		group_cancel_from(g, first);
	return rc;
}

struct member_change {
	struct group_gate	*gate;
	procq_handle		*h;
};

/* h joins the gate's members, unless it is one. */
static int
member_add_cmd(procq_queue *q, void *arg)
{
	const struct member_change *c = arg;
	const struct task_extra *x = c->h->extra;

	(void)q;
	for (size_t i = 0; x != NULL && i < x->ngroups; i++) {
		if (x->groups[i] == c->gate)
			return PROCQ_EEXIST;
	}
	return group_member_add(c->gate, c->h);
}

static int
member_remove_cmd(procq_queue *q, void *arg)
{
	const struct member_change *c = arg;

	(void)q;
	group_member_remove(c->gate, c->h);
	return 0;
}

/* Is h one of g's members?  g->w's lock held. */
static ssize_t
group_find(const procq_group *g, const procq_handle *h)
{
	for (size_t i = 0; i < g->n; i++) {
		if (g->handles[i] == h)
			return (ssize_t)i;
	}
	return -1;
}

/* The engine hears of a member first, when the group has a policy: a
 * member it could not take is not added. */
int
procq_group_add(procq_group *g, procq_handle *h)
{
	struct member_change c = { g != NULL ? g->gate : NULL, h };
	ssize_t pos = -1;
	int rc = 0;

	if (g == NULL || h == NULL || h->q != g->q)
		return PROCQ_EINVAL;
	if (queue_forked(g->q))
		return PROCQ_EFORKED;
	if (g->policy && (rc = command_call(g->q, member_add_cmd, &c)) != 0)
		return rc;
	waiter_lock(g->w);
	if (group_find(g, h) >= 0)
		rc = PROCQ_EEXIST;
	else if ((pos = group_push(g, h)) < 0)
		rc = PROCQ_ENOMEM;
	waiter_unlock(g->w);
	if (rc == 0)
		group_watch(g, h, (size_t)pos);
	else if (g->policy)
		command_call(g->q, member_remove_cmd, &c);
	return rc;
}

/* Takes h out of the lists; g->w's lock held.  If procq_group_next()
 * gave it already, it no longer counts among those given. */
static void
group_drop(procq_group *g, size_t i)
{
	procq_handle *h = g->handles[i];
	size_t pos = 0;

	memmove(g->handles + i, g->handles + i + 1,
	    (g->n - i - 1) * sizeof *g->handles);
	g->n--;
	while (g->slots[pos] != h)
		pos++;
	g->slots[pos] = NULL;
	for (size_t k = 0; k < g->next; k++) {
		if (waiter_position(g->w, k) == pos) {
			g->returned--;
			break;
		}
	}
}

int
procq_group_remove(procq_group *g, procq_handle *h)
{
	struct member_change c = { g != NULL ? g->gate : NULL, h };
	ssize_t i;

	if (g == NULL || h == NULL)
		return PROCQ_EINVAL;
	if (queue_forked(g->q))
		return PROCQ_EFORKED;
	waiter_lock(g->w);
	/* Another thread's add posts its watch before this posts the
	 * unwatch: the queue's owner sees them in that order. */
	while (g->watching > 0)
		waiter_sleep(g->w, NULL);
	if ((i = group_find(g, h)) >= 0)
		group_drop(g, (size_t)i);
	waiter_unlock(g->w);
	if (i < 0)
		return PROCQ_EINVAL;
	if (g->policy)
		command_call(g->q, member_remove_cmd, &c);
	waiter_unwatch_all(g->w, &h, 1);
	return 0;
}

const char *
procq_group_id(const procq_group *g)
{
	return g != NULL && !queue_forked(g->q) ? g->id : NULL;
}

size_t
procq_group_size(procq_group *g)
{
	size_t n;

	if (g == NULL || queue_forked(g->q))
		return 0;
	waiter_lock(g->w);
	n = g->n;
	waiter_unlock(g->w);
	return n;
}

procq_handle *
procq_group_handle(procq_group *g, size_t i)
{
	procq_handle *h = NULL;

	if (g == NULL || queue_forked(g->q))
		return NULL;
	waiter_lock(g->w);
	if (i < g->n)
		h = g->handles[i];
	waiter_unlock(g->w);
	return h;
}

/* A summary of the final ones among hs, in their order. */
static procq_summary *
group_summary(procq_handle **hs, size_t n, bool failures_only)
{
	procq_result **rs;
	procq_summary *s;
	size_t k = 0;

	if ((rs = malloc((n ? n : 1) * sizeof *rs)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		procq_result *r = (procq_result *)procq_handle_result(hs[i]);

		if (r == NULL || (failures_only && r->status == PROCQ_SUCCEEDED))
			continue;
		rs[k++] = r;
	}
	s = summary_new(rs, k, -1);
	free(rs);
	return s;
}

/*
 * What a wait that ended (rc: 0, or timed out) reports: under
 * PROCQ_GROUP_CANCEL_RAISE, a group that was cancelled says so, and the
 * summary names the member whose failure cancelled the rest.
 */
static int
group_wait_outcome(procq_group *g, procq_handle **hs, size_t n, int rc,
    procq_summary **summary)
{
	procq_result *first = NULL;

	if (g->policy) {
		pthread_mutex_lock(&g->q->lock);
		if (rc == 0 && g->gate->cancelled &&
		    g->gate->cancel_mode == PROCQ_GROUP_CANCEL_RAISE)
			rc = PROCQ_ECANCELLED;
		if (g->gate->first_failure != NULL)
			first = result_ref(g->gate->first_failure);
		pthread_mutex_unlock(&g->q->lock);
	}
	if (summary != NULL) {
		if ((*summary = group_summary(hs, n, false)) == NULL)
			rc = PROCQ_ENOMEM;
		else if (first != NULL)
			summary_set_first_failure(*summary, first);
	}
	result_unref(first);
	return rc;
}

int
procq_group_wait(procq_group *g, double timeout, procq_summary **summary)
{
	procq_handle **hs;
	size_t n, ndone;
	int rc = 0;

	if (summary != NULL)
		*summary = NULL;
	if (g == NULL || isnan(timeout))
		return PROCQ_EINVAL;
	if (queue_forked(g->q))
		return PROCQ_EFORKED;
	pthread_mutex_lock(&g->q->lock);
	if (g->q->state == QUEUE_NEW && g->q->outstanding > 0 &&
	    !loop_on_thread(g->q))
		rc = queue_start_locked(g->q);
	pthread_mutex_unlock(&g->q->lock);
	if (rc != 0)
		return rc;
	if ((hs = group_snapshot(g, &n)) == NULL)
		return PROCQ_ENOMEM;
	rc = procq_wait(hs, n, PROCQ_ALL_COMPLETED, timeout, NULL, &ndone,
	    NULL, NULL);
	if (rc == 0 && ndone < n)
		rc = PROCQ_ETIMEDOUT;
	if (rc == 0 || rc == PROCQ_ETIMEDOUT)
		rc = group_wait_outcome(g, hs, n, rc, summary);
	free(hs);
	return rc;
}

int
procq_group_values(procq_group *g, const msgpack_object **values,
    procq_summary **failures)
{
	procq_handle **hs;
	bool ok = true;
	size_t n;
	int rc = 0;

	if (failures != NULL)
		*failures = NULL;
	if (g == NULL)
		return PROCQ_EINVAL;
	if (queue_forked(g->q))
		return PROCQ_EFORKED;
	if ((hs = group_snapshot(g, &n)) == NULL)
		return PROCQ_ENOMEM;
	if (values == NULL && n > 0)
		rc = PROCQ_EINVAL;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const procq_result *r = procq_handle_result(hs[i]);

		if (r == NULL)
			rc = PROCQ_ENOTDONE;
		else
			ok = ok && r->status == PROCQ_SUCCEEDED;
	}
	if (rc == 0 && !ok) {
		rc = PROCQ_ETASK;
		if (failures != NULL &&
		    (*failures = group_summary(hs, n, true)) == NULL)
			rc = PROCQ_ENOMEM;
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		values[i] = procq_result_value(procq_handle_result(hs[i]));
	free(hs);
	return rc;
}

struct group_cancel {
	struct group_gate *gate;
	procq_handle	**hs;
	size_t		  n;
};

/* Every unfinished handle at once, in one command: the loop cannot start
 * a waiting task of the group in between.  Returns how many. */
static int
group_cancel_cmd(procq_queue *q, void *arg)
{
	const struct group_cancel *c = arg;
	int k = 0;

	(void)q;
	if (c->gate != NULL)
		group_trip_cancelled(c->gate);
	for (size_t i = 0; i < c->n; i++) {
		if (c->hs[i]->state != TASK_DONE &&
		    !c->hs[i]->cancel_requested) {
			task_cancel(c->hs[i]);
			k++;
		}
	}
	return k;
}

size_t
procq_group_cancel(procq_group *g)
{
	struct group_cancel c;
	int k;

	if (g == NULL || queue_forked(g->q) ||
	    (c.hs = group_snapshot(g, &c.n)) == NULL)
		return 0;
	c.gate = g->gate;
	k = command_call(g->q, group_cancel_cmd, &c);
	free(c.hs);
	return (size_t)k;
}

/* The next member the waiter heard of that procq_group_next() has not
 * given, skipping those removed; g->w's lock held. */
static procq_handle *
group_next_ready(procq_group *g)
{
	procq_handle *h;

	while (g->next < waiter_count(g->w)) {
		h = g->slots[waiter_position(g->w, g->next++)];
		if (h != NULL) {
			g->returned++;
			return h;
		}
	}
	return NULL;
}

procq_handle *
procq_group_next(procq_group *g, double timeout, int *err)
{
	struct timespec deadline;
	procq_handle *h = NULL;
	int rc = 0, wrc = 0;

	if (g == NULL || isnan(timeout)) {
		if (err != NULL)
			*err = PROCQ_EINVAL;
		return NULL;
	}
	if (queue_forked(g->q)) {
		if (err != NULL)
			*err = PROCQ_EFORKED;
		return NULL;
	}
	if (timeout > 0)
		deadline = procq_clock_deadline(timeout);
	waiter_lock(g->w);
	while (rc == 0 && (h = group_next_ready(g)) == NULL &&
	    g->returned < g->n) {
		if (timeout == 0 || wrc != 0)
			rc = PROCQ_ETIMEDOUT;
		else if (loop_on_thread(g->q))
			rc = PROCQ_EDEADLK;
		else
			wrc = waiter_sleep(g->w,
			    timeout < 0 ? NULL : &deadline);
	}
	waiter_unlock(g->w);
	if (err != NULL)
		*err = rc;
	return h;
}

/* In a forked child: memory only.  The queue, the gate and the handles are
 * the parent's, and the group's lock may have been held by one of its
 * threads. */
static void
group_free_forked(procq_group *g)
{
	waiter_free_forked(g->w);
	free(g->handles);
	free(g->slots);
	free(g->id);
	free(g);
}

/* The backlog no longer has a group to answer to. */
static int
gate_orphan_cmd(procq_queue *q, void *arg)
{
	struct group_gate *gate = arg;

	group_members_drop(gate);
	gate->limit = 0;
	gate->orphaned = true;
	gate_release(gate);
	gate_reclaim(q, gate);
	return 0;
}

void
procq_group_free(procq_group *g)
{
	if (g == NULL)
		return;
	if (queue_forked(g->q)) {
		group_free_forked(g);
		return;
	}
	/* Freeing a group while using it elsewhere is the caller's error:
	 * no other call on it may be in progress here. */
	waiter_unwatch_all(g->w, g->handles, g->n);
	if (g->gate != NULL)
		command_call(g->q, gate_orphan_cmd, g->gate);
	g->q->watchers--;
	waiter_free(g->w);
	free(g->handles);
	free(g->slots);
	free(g->id);
	free(g);
}
