/*
 * Summaries: the results of a run (or a subset of one) in completion order,
 * with their totals.  A summary holds a reference on each result, so it
 * stays valid after its queue is freed.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "result.h"

struct procq_summary {
	procq_result	**results;
	size_t		  n;
	size_t		  succeeded;
	size_t		  failed;
	size_t		  cancelled;
	size_t		  resumed;	/* of succeeded: in an earlier run */
	double		  duration;
	bool		  run_timed_out;	/* its run's timeout expired */
	procq_result	 *first_failure;	/* one of results, or NULL */
};

/* From the first start to the last finish among the results: the
 * duration of a set that no run framed. */
static double
summary_span(procq_result **results, size_t n)
{
	double first = 0, last = 0;

	for (size_t i = 0; i < n; i++) {
		double from = results[i]->started > 0 ? results[i]->started :
		    results[i]->finished;

		if (first == 0 || from < first)
			first = from;
		if (results[i]->finished > last)
			last = results[i]->finished;
	}
	return last > first ? last - first : 0;
}

/* An empty summary with room for n results (summary_push()); never
 * without an array, even for none. */
static procq_summary *
summary_alloc(size_t n)
{
	procq_summary *s;

	if ((s = calloc(1, sizeof *s)) == NULL)
		return NULL;
	if ((s->results = malloc((n ? n : 1) * sizeof *s->results)) == NULL) {
		free(s);
		return NULL;
	}
	return s;
}

static void
summary_push(procq_summary *s, procq_result *r)
{
	s->results[s->n++] = result_ref(r);
	switch (r->status) {
	case PROCQ_SUCCEEDED:
		s->succeeded++;
		s->resumed += r->resumed;
		break;
	case PROCQ_CANCELLED:
		s->cancelled++;
		break;
	default:
		s->failed++;
		break;
	}
}

procq_summary *
summary_new(procq_result **results, size_t n, double duration)
{
	procq_summary *s;

	if ((s = summary_alloc(n)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		summary_push(s, results[i]);
	s->duration = duration >= 0 ? duration : summary_span(results, n);
	return s;
}

/* r failed first and cancelled the others of its group (group.c): kept
 * only if it is one of s's results. */
void
summary_set_first_failure(procq_summary *s, procq_result *r)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->results[i] == r) {
			s->first_failure = r;
			return;
		}
	}
}

const procq_result *
procq_summary_first_failure(const procq_summary *s)
{
	return s != NULL ? s->first_failure : NULL;
}

/* The run of the summary ended at its timeout (run.c). */
void
summary_set_run_timed_out(procq_summary *s)
{
	s->run_timed_out = true;
}

/* A summary made of part of s describes the same run. */
static procq_summary *
summary_part(const procq_summary *s, procq_result **results, size_t n)
{
	procq_summary *out = summary_new(results, n, s->duration);

	if (out != NULL) {
		out->run_timed_out = s->run_timed_out;
		if (s->first_failure != NULL)
			summary_set_first_failure(out, s->first_failure);
	}
	return out;
}

void
procq_summary_free(procq_summary *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		result_unref(s->results[i]);
	free(s->results);
	free(s);
}

size_t
procq_summary_submitted(const procq_summary *s)
{
	return s != NULL ? s->n : 0;
}

size_t
procq_summary_succeeded(const procq_summary *s)
{
	return s != NULL ? s->succeeded : 0;
}

size_t
procq_summary_failed(const procq_summary *s)
{
	return s != NULL ? s->failed : 0;
}

size_t
procq_summary_cancelled(const procq_summary *s)
{
	return s != NULL ? s->cancelled : 0;
}

size_t
procq_summary_resumed(const procq_summary *s)
{
	return s != NULL ? s->resumed : 0;
}

bool
procq_summary_ok(const procq_summary *s)
{
	return s != NULL && s->failed == 0 && s->cancelled == 0;
}

double
procq_summary_duration(const procq_summary *s)
{
	return s != NULL ? s->duration : 0.0;
}

bool
procq_summary_run_timed_out(const procq_summary *s)
{
	return s != NULL && s->run_timed_out;
}

size_t
procq_summary_count(const procq_summary *s)
{
	return s != NULL ? s->n : 0;
}

const procq_result *
procq_summary_result(const procq_summary *s, size_t i)
{
	if (s == NULL || i >= s->n)
		return NULL;
	return s->results[i];
}

const procq_result *
procq_summary_by_id(const procq_summary *s, const char *id)
{
	if (s == NULL || id == NULL)
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->results[i]->id, id) == 0)
			return s->results[i];
	}
	return NULL;
}

static bool
same_string(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* A new summary of the results that keep() accepts. */
static procq_summary *
summary_select(const procq_summary *s, bool (*keep)(const procq_result *))
{
	procq_result **picked;
	procq_summary *out;
	size_t n = 0;

	if (s == NULL)
		return NULL;
	if ((picked = malloc((s->n ? s->n : 1) * sizeof *picked)) == NULL)
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		if (keep(s->results[i]))
			picked[n++] = s->results[i];
	}
	out = summary_part(s, picked, n);
	free(picked);
	return out;
}

static bool
is_success(const procq_result *r)
{
	return r->status == PROCQ_SUCCEEDED;
}

static bool
is_error(const procq_result *r)
{
	return r->status == PROCQ_FAILED;
}

static bool
is_cancellation(const procq_result *r)
{
	return r->status == PROCQ_CANCELLED;
}

static bool
is_timeout(const procq_result *r)
{
	return r->status == PROCQ_FAILED && r->kind == PROCQ_ERR_TIMEOUT;
}

procq_summary *
procq_summary_successes(const procq_summary *s)
{
	return summary_select(s, is_success);
}

procq_summary *
procq_summary_errors(const procq_summary *s)
{
	return summary_select(s, is_error);
}

procq_summary *
procq_summary_cancellations(const procq_summary *s)
{
	return summary_select(s, is_cancellation);
}

procq_summary *
procq_summary_timed_out(const procq_summary *s)
{
	return summary_select(s, is_timeout);
}

size_t
procq_summary_values(const procq_summary *s, const msgpack_object **values,
    size_t max)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (size_t i = 0; i < s->n; i++) {
		if (s->results[i]->status != PROCQ_SUCCEEDED)
			continue;
		if (values != NULL && n < max)
			values[n] = &s->results[i]->value;
		n++;
	}
	return n;
}

/* A new summary of the results whose field (name or group) equals value. */
static procq_summary *
summary_filter(const procq_summary *s, const char *value, bool by_group)
{
	procq_result **picked;
	procq_summary *out;
	size_t n = 0;

	if (s == NULL)
		return NULL;
	if ((picked = malloc((s->n ? s->n : 1) * sizeof *picked)) == NULL)
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		procq_result *r = s->results[i];

		if (same_string(by_group ? r->group : r->name, value))
			picked[n++] = r;
	}
	out = summary_part(s, picked, n);
	free(picked);
	return out;
}

procq_summary *
procq_summary_by_name(const procq_summary *s, const char *name)
{
	if (name == NULL)
		return NULL;
	return summary_filter(s, name, false);
}

procq_summary *
procq_summary_by_group(const procq_summary *s, const char *group)
{
	return summary_filter(s, group, true);
}

/*
 * The distinct groups of a summary, by index in order of first
 * appearance, found through a table of their ids (open addressing, kept
 * at most half full): one pass over the results however many groups
 * there are.  The ids point into the results.
 */
struct group_table {
	size_t		 *slots;	/* index + 1 of a group; 0: empty */
	size_t		  nslots;	/* a power of two */
	const char	**ids;
	size_t		 *counts;	/* results of each */
	size_t		  n;
	size_t		  cap;
};

/* FNV-1a */
static uint64_t
group_hash(const char *id)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 0x100000001b3ULL;
	return h;
}

static size_t *
group_slot(const struct group_table *gt, const char *id)
{
	size_t mask = gt->nslots - 1, i = group_hash(id) & mask;

	while (gt->slots[i] != 0 && strcmp(gt->ids[gt->slots[i] - 1], id) != 0)
		i = (i + 1) & mask;
	return &gt->slots[i];
}

/* Room for one more group: in the arrays, and in the table. */
static int
group_reserve(struct group_table *gt)
{
	size_t *slots, *counts, nslots;
	const char **ids;

	if (gt->n == gt->cap) {
		size_t cap = gt->cap ? gt->cap * 2 : 16;

		if ((ids = realloc(gt->ids, cap * sizeof *ids)) == NULL)
			return -1;
		gt->ids = ids;
		if ((counts = realloc(gt->counts, cap * sizeof *counts)) ==
		    NULL)
			return -1;
		gt->counts = counts;
		gt->cap = cap;
	}
	if (2 * (gt->n + 1) <= gt->nslots)
		return 0;
	nslots = gt->nslots ? gt->nslots * 2 : 32;
	if ((slots = calloc(nslots, sizeof *slots)) == NULL)
		return -1;
	free(gt->slots);
	gt->slots = slots;
	gt->nslots = nslots;
	for (size_t k = 0; k < gt->n; k++)
		*group_slot(gt, gt->ids[k]) = k + 1;
	return 0;
}

/* The index of the group id, added if new; -1 out of memory. */
static int
group_index(struct group_table *gt, const char *id, size_t *index)
{
	size_t *slot;

	if (gt->nslots > 0 && *(slot = group_slot(gt, id)) != 0) {
		*index = *slot - 1;
		return 0;
	}
	if (group_reserve(gt) != 0)
		return -1;
	slot = group_slot(gt, id);
	gt->ids[gt->n] = id;
	gt->counts[gt->n] = 0;
	*slot = ++gt->n;
	*index = *slot - 1;
	return 0;
}

/* The summaries of the first k groups, each result of s given to its
 * group's (which[i]: its index, or SIZE_MAX); all or none. */
static int
group_summaries(const procq_summary *s, const struct group_table *gt,
    const size_t *which, procq_summary **subs, size_t k)
{
	for (size_t g = 0; g < k; g++) {
		if ((subs[g] = summary_alloc(gt->counts[g])) == NULL) {
			while (g-- > 0)
				procq_summary_free(subs[g]);
			return -1;
		}
		subs[g]->duration = s->duration;
		subs[g]->run_timed_out = s->run_timed_out;
	}
	for (size_t i = 0; i < s->n; i++) {
		if (which[i] < k)
			summary_push(subs[which[i]], s->results[i]);
	}
	return 0;
}

int
procq_summary_groups(const procq_summary *s, const char **ids,
    procq_summary **subs, size_t max, size_t *count)
{
	struct group_table gt = { 0 };
	procq_summary **made = NULL;
	size_t *which = NULL, k;
	int rc = PROCQ_ENOMEM;

	if (count != NULL)
		*count = 0;
	if (s == NULL || count == NULL)
		return PROCQ_EINVAL;
	if (subs != NULL && max > 0 && s->n > 0 &&
	    (which = malloc(s->n * sizeof *which)) == NULL)
		return PROCQ_ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		const char *id = s->results[i]->group;
		size_t g = SIZE_MAX;

		if (id != NULL) {
			if (group_index(&gt, id, &g) != 0)
				goto out;
			gt.counts[g]++;
		}
		if (which != NULL)
			which[i] = g;
	}
	k = gt.n < max ? gt.n : max;
	/* Nothing is stored for the caller unless everything was made. */
	if (subs != NULL && k > 0) {
		if ((made = malloc(k * sizeof *made)) == NULL ||
		    group_summaries(s, &gt, which, made, k) != 0)
			goto out;
		memcpy(subs, made, k * sizeof *made);
	}
	if (ids != NULL && k > 0)
		memcpy(ids, gt.ids, k * sizeof *ids);
	*count = gt.n;
	rc = 0;
out:
	free(made);
	free(which);
	free(gt.slots);
	free(gt.ids);
	free(gt.counts);
	return rc;
}

/* The last lines a crashed worker wrote to stderr, indented. */
static void
summary_display_output(const char *p, size_t len, FILE *fp)
{
	size_t start = len, lines = 0;

	if (len > 0 && p[len - 1] == '\n')
		len--;
	start = len;
	while (start > 0 && lines < 5) {
		start--;
		if (p[start] == '\n' && ++lines == 5) {
			start++;
			break;
		}
	}
	while (start < len) {
		const char *nl = memchr(p + start, '\n', len - start);
		size_t end = nl != NULL ? (size_t)(nl - p) : len;

		fprintf(fp, "      | %.*s\n", (int)(end - start), p + start);
		start = end + 1;
	}
}

static void
summary_display_result(const procq_result *r, FILE *fp)
{
	fprintf(fp, "  %-9s %s %s", procq_status_name(r->status), r->id,
	    r->name);
	if (r->group != NULL)
		fprintf(fp, " [%s]", r->group);
	fprintf(fp, " (attempt%s %d): %s: %s\n", r->attempts == 1 ? "" : "s",
	    r->attempts, r->error_type != NULL ? r->error_type : "Error",
	    r->error_message != NULL ? r->error_message : "");
	if (r->output_len > 0)
		summary_display_output(r->output, r->output_len, fp);
}

int
procq_summary_check(const procq_summary *s, int flags, FILE *fp)
{
	bool cancelled = (flags & PROCQ_CHECK_CANCELLED) != 0;
	int rc = 0;

	if (s == NULL || (flags & ~PROCQ_CHECK_CANCELLED) != 0)
		return PROCQ_EINVAL;
	for (size_t i = 0; i < s->n; i++) {
		const procq_result *r = s->results[i];

		if (r->status == PROCQ_FAILED ||
		    (cancelled && r->status == PROCQ_CANCELLED)) {
			rc = PROCQ_ETASK;
			if (fp != NULL)
				summary_display_result(r, fp);
		}
	}
	return rc;
}

#define DISPLAY_CANCELLED 20

void
procq_summary_display(const procq_summary *s, FILE *fp)
{
	size_t shown = 0;

	if (s == NULL || fp == NULL)
		return;
	fprintf(fp, "%zu tasks: %zu succeeded", s->n, s->succeeded);
	if (s->resumed > 0)
		fprintf(fp, " (%zu resumed)", s->resumed);
	fprintf(fp, ", %zu failed, %zu cancelled in %.3f s%s%s\n", s->failed,
	    s->cancelled, s->duration,
	    s->run_timed_out ? ", the run timed out" : "",
	    procq_summary_ok(s) ? "" : " (not ok)");
	for (size_t i = 0; i < s->n; i++) {
		const procq_result *r = s->results[i];

		/* Every failure is listed; a mass of cancellations (an
		 * interrupted run) is counted past the first few. */
		if (r->status == PROCQ_FAILED ||
		    (r->status == PROCQ_CANCELLED && shown++ < DISPLAY_CANCELLED))
			summary_display_result(r, fp);
	}
	if (s->cancelled > DISPLAY_CANCELLED)
		fprintf(fp, "  ... and %zu more cancelled\n",
		    s->cancelled - DISPLAY_CANCELLED);
}
