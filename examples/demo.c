/*
 * demo: checksum a batch of records in a pool of worker processes, where a
 * few records are poisoned and make their job segfault, abort, exit, hang,
 * fail, or fail twice before succeeding.
 *
 * The point: each bad job takes down only its own worker process.  procq
 * reaps the worker, starts a new one, retries the job, and in the end
 * reports exactly what happened to every record, while every other job and
 * this process carry on.
 *
 * The demo checks the run against what its poisoned records predict and
 * exits with status 0 only when everything matches, so `make check` runs it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <procq.h>

#define NWORKERS	4
#define RETRIES		2	/* so each task gets 3 attempts */
#define RETRY_DELAY	0.05	/* seconds */
#define TIMEOUT		0.5	/* seconds per attempt */
#define RUN_TIMEOUT	30.0	/* seconds: a safety net, never reached */

/*
 * The records.  Each one is a 4-byte magic, one "fault" byte and a payload.
 * A real batch would hit bugs by accident; here the fault byte says which
 * misbehaviour a poisoned record acts out, so the run is reproducible.
 */
#define MAGIC		"REC1"
#define MAGIC_LEN	4
#define HEADER_LEN	(MAGIC_LEN + 1)

enum fault {
	FAULT_NONE = 0,
	FAULT_SEGV,		/* dereferences NULL */
	FAULT_ABORT,		/* a consistency check calls abort() */
	FAULT_EXIT,		/* old decoder code calls exit(3) */
	FAULT_HANG,		/* never returns */
	FAULT_BAD_HEADER,	/* wrong magic: the task reports an error */
	FAULT_FLAKY		/* fails on attempts 1 and 2, then succeeds */
};

static const char *const fault_names[] = {
	[FAULT_NONE] = "none",
	[FAULT_SEGV] = "segfault",
	[FAULT_ABORT] = "abort()",
	[FAULT_EXIT] = "exit(3)",
	[FAULT_HANG] = "hang",
	[FAULT_BAD_HEADER] = "bad header",
	[FAULT_FLAKY] = "flaky"
};

/*
 * Which records are poisoned, by index; everything else is clean.  The
 * report shows the first record of each kind listed here.
 */
static const struct {
	int index;
	enum fault fault;
} poisoned[] = {
	{ 17, FAULT_SEGV }, { 142, FAULT_SEGV }, { 263, FAULT_SEGV },
	{ 201, FAULT_ABORT }, { 88, FAULT_ABORT },
	{ 230, FAULT_EXIT },
	{ 190, FAULT_HANG }, { 64, FAULT_HANG },
	{ 99, FAULT_BAD_HEADER }, { 51, FAULT_BAD_HEADER },
	{ 175, FAULT_BAD_HEADER }, { 288, FAULT_BAD_HEADER },
	{ 272, FAULT_FLAKY }, { 33, FAULT_FLAKY }, { 110, FAULT_FLAKY },
	{ 160, FAULT_FLAKY }, { 245, FAULT_FLAKY }
};
#define NPOISONED (sizeof poisoned / sizeof poisoned[0])

/* Records 0-119 are invoices, 120-219 images, 220-299 logs. */
static const struct {
	const char *group;	/* procq group id */
	const char *prefix;	/* task names: "invoice-017" */
	int first, count;
} groups[] = {
	{ "invoices", "invoice", 0, 120 },
	{ "images", "image", 120, 100 },
	{ "logs", "log", 220, 80 }
};
#define NGROUPS (sizeof groups / sizeof groups[0])
#define NRECORDS 300

struct record {
	int index;
	const char *group;
	char name[32];
	enum fault fault;
	unsigned char *data;
	size_t len;
	uint64_t checksum;	/* computed here, to check the workers' answers */
	procq_handle *handle;	/* owned by the queue */
};

/* How the tasks ended, counted the same way for the prediction and the run. */
struct tally {
	size_t clean;		/* succeeded on the first attempt */
	size_t retried;		/* succeeded on a later attempt */
	size_t task_errors;	/* the task reported a failure */
	size_t crashed;		/* the worker died on the last attempt */
	size_t timed_out;	/* the last attempt ran out of time */
	size_t other;		/* anything else (should not happen here) */
	size_t crash_deaths;	/* worker processes that died in crashes */
};

/* ---- Shared by both sides ---------------------------------------------- */

/* 64-bit FNV-1a: small, and good enough to spot a wrong answer. */
static uint64_t
fnv1a(const unsigned char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* ---- Worker side: runs in a worker process ----------------------------- */

/*
 * Act out a poisoned record.  Returns only for the faults that do not take
 * the process down; those return the task's return code.  The NULL load
 * is left to the hardware even in a build with UndefinedBehaviorSanitizer,
 * which would otherwise report it and exit: the point is a real SIGSEGV.
 */
#if defined(__SANITIZE_ADDRESS__)
__attribute__((no_sanitize("null")))
#endif
static int
misbehave(procq_call *c, enum fault fault)
{
	/* volatile, so the compiler keeps the NULL dereference as written. */
	const volatile unsigned char *volatile table = NULL;

	switch (fault) {
	case FAULT_SEGV:
		return *table;			/* SIGSEGV: the worker dies */
	case FAULT_ABORT:
		abort();			/* SIGABRT: the worker dies */
	case FAULT_EXIT:
		exit(3);			/* the worker exits */
	case FAULT_HANG:
		sleep(60);			/* killed at the timeout */
		return 0;
	case FAULT_FLAKY:
		/* A transient error: procq retries, and attempt 3 works. */
		if (procq_call_attempt(c) < 3)
			return procq_call_fail(c, "Unavailable",
			    "store busy on attempt %d",
			    procq_call_attempt(c));
		return 0;
	default:
		return 0;
	}
}

/*
 * The task: args are [record bytes, record index]; the return value is
 * [record index, checksum of the payload].
 */
static int
checksum_task(procq_call *c)
{
	const void *args;
	const unsigned char *data;
	size_t len;
	int index, rc;

	if (procq_call_unpack(c, "yi", &args, &len, &index) != 0)
		return procq_call_fail(c, "ArgumentError", "expected [bin, int]");
	data = args;
	if (len < HEADER_LEN || memcmp(data, MAGIC, MAGIC_LEN) != 0)
		return procq_call_fail(c, "ChecksumError",
		    "bad header in record %d", index);
	if ((rc = misbehave(c, (enum fault)data[MAGIC_LEN])) != 0)
		return rc;
	return procq_call_return(c, "iu", index,
	    fnv1a(data + HEADER_LEN, len - HEADER_LEN));
}

/* ---- Caller side: making and submitting the records -------------------- */

static enum fault
fault_of(int index)
{
	for (size_t i = 0; i < NPOISONED; i++)
		if (poisoned[i].index == index)
			return poisoned[i].fault;
	return FAULT_NONE;
}

/* xorshift32: the same "random" payloads on every run. */
static uint32_t
next_random(uint32_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

static int
make_record(struct record *rec, int index, size_t g, uint32_t *seed)
{
	size_t payload = 64 + next_random(seed) % 960;

	rec->index = index;
	rec->group = groups[g].group;
	snprintf(rec->name, sizeof rec->name, "%s-%03d", groups[g].prefix,
	    index);
	rec->fault = fault_of(index);
	rec->len = HEADER_LEN + payload;
	if ((rec->data = malloc(rec->len)) == NULL)
		return -1;
	memcpy(rec->data, MAGIC, MAGIC_LEN);
	if (rec->fault == FAULT_BAD_HEADER)
		rec->data[MAGIC_LEN - 1] = '?';
	rec->data[MAGIC_LEN] = (unsigned char)rec->fault;
	for (size_t i = HEADER_LEN; i < rec->len; i++)
		rec->data[i] = (unsigned char)next_random(seed);
	rec->checksum = fnv1a(rec->data + HEADER_LEN, payload);
	return 0;
}

static int
make_records(struct record *recs)
{
	uint32_t seed = 20240601;

	for (size_t g = 0; g < NGROUPS; g++)
		for (int i = 0; i < groups[g].count; i++) {
			int index = groups[g].first + i;

			if (make_record(&recs[index], index, g, &seed) != 0)
				return -1;
		}
	return 0;
}

static void
free_records(struct record *recs)
{
	for (size_t i = 0; i < NRECORDS; i++)
		free(recs[i].data);
}

static int
submit_all(procq_queue *q, struct record *recs)
{
	for (size_t i = 0; i < NRECORDS; i++) {
		struct record *rec = &recs[i];
		procq_opts opts = {
			.name = rec->name,
			.group = rec->group,
			.retries = RETRIES,
			.retry_delay = RETRY_DELAY,
			.timeout = TIMEOUT
		};
		int err = procq_submitf(q, "checksum", &opts, &rec->handle,
		    "yi", rec->data, rec->len, rec->index);

		if (err != 0) {
			fprintf(stderr, "demo: submit %s: %s\n", rec->name,
			    procq_strerror(err));
			return -1;
		}
	}
	return 0;
}

/* ---- Caller side: what happened ---------------------------------------- */

static void
tally_predicted(const struct record *recs, struct tally *t)
{
	memset(t, 0, sizeof *t);
	for (size_t i = 0; i < NRECORDS; i++) {
		switch (recs[i].fault) {
		case FAULT_NONE:
			t->clean++;
			break;
		case FAULT_FLAKY:
			t->retried++;
			break;
		case FAULT_BAD_HEADER:
			t->task_errors++;
			break;
		case FAULT_HANG:
			t->timed_out++;
			break;
		default:	/* segfault, abort, exit: on every attempt */
			t->crashed++;
			t->crash_deaths += RETRIES + 1;
			break;
		}
	}
}

static void
tally_result(const procq_result *r, struct tally *t)
{
	if (procq_result_status(r) == PROCQ_SUCCEEDED) {
		if (procq_result_attempts(r) == 1)
			t->clean++;
		else
			t->retried++;
		return;
	}
	switch (procq_result_error_kind(r)) {
	case PROCQ_ERR_TASK:
		t->task_errors++;
		break;
	case PROCQ_ERR_CRASH:
		/*
		 * A record that crashes its worker does so on every attempt,
		 * so each attempt cost one worker process.
		 */
		t->crashed++;
		t->crash_deaths += (size_t)procq_result_attempts(r);
		break;
	case PROCQ_ERR_TIMEOUT:
		t->timed_out++;
		break;
	default:
		t->other++;
		break;
	}
}

static void
tally_run(const procq_summary *s, struct tally *t)
{
	memset(t, 0, sizeof *t);
	for (size_t i = 0; i < procq_summary_count(s); i++)
		tally_result(procq_summary_result(s, i), t);
}

static bool
tally_equal(const struct tally *a, const struct tally *b)
{
	return a->clean == b->clean && a->retried == b->retried &&
	    a->task_errors == b->task_errors && a->crashed == b->crashed &&
	    a->timed_out == b->timed_out && a->other == b->other &&
	    a->crash_deaths == b->crash_deaths;
}

static void
tally_print(FILE *fp, const char *label, const struct tally *t)
{
	fprintf(fp, "demo: %-9s clean %zu, retried %zu, task errors %zu, "
	    "crashed %zu (%zu deaths), timed out %zu, other %zu\n", label,
	    t->clean, t->retried, t->task_errors, t->crashed, t->crash_deaths,
	    t->timed_out, t->other);
}

/* Whether a record with this fault fails on every attempt. */
static bool
always_fails(enum fault fault)
{
	return fault != FAULT_NONE && fault != FAULT_FLAKY;
}

static void
print_intro(const struct record *recs)
{
	size_t n[FAULT_FLAKY + 1] = { 0 };

	for (size_t i = 0; i < NRECORDS; i++)
		n[recs[i].fault]++;
	printf("procq demo: checksum %d records (invoices, images, logs) on "
	    "%d worker processes.\n", NRECORDS, NWORKERS);
	printf("%zu are poisoned: %zu segfault, %zu abort, %zu exit(3), %zu "
	    "hang, %zu have a bad header,\n", NPOISONED, n[FAULT_SEGV],
	    n[FAULT_ABORT], n[FAULT_EXIT], n[FAULT_HANG], n[FAULT_BAD_HEADER]);
	printf("and %zu are flaky (they fail twice, then succeed).\n",
	    n[FAULT_FLAKY]);
	printf("Each task gets up to %d attempts, %.2f s apart, and %.1f s "
	    "per attempt.\n\n", RETRIES + 1, RETRY_DELAY, TIMEOUT);
}

static void
print_group_row(const char *label, const procq_summary *s)
{
	printf("  %-10s %6zu %10zu %7zu %10zu\n", label,
	    procq_summary_count(s), procq_summary_succeeded(s),
	    procq_summary_failed(s), procq_summary_cancelled(s));
}

/* Whether group g ended as its records predict. */
static bool
group_as_predicted(const struct record *recs, size_t g,
    const procq_summary *gs)
{
	size_t failing = 0;

	for (int i = 0; i < groups[g].count; i++)
		if (always_fails(recs[groups[g].first + i].fault))
			failing++;
	return procq_summary_count(gs) == (size_t)groups[g].count &&
	    procq_summary_failed(gs) == failing &&
	    procq_summary_succeeded(gs) == (size_t)groups[g].count - failing &&
	    procq_summary_cancelled(gs) == 0;
}

/* Returns false if a group did not end as its records predict. */
static bool
print_groups(const struct record *recs, const procq_summary *s)
{
	bool ok = true;

	printf("By group       tasks  succeeded  failed  cancelled\n");
	for (size_t g = 0; g < NGROUPS; g++) {
		procq_summary *gs = procq_summary_by_group(s, groups[g].group);

		if (gs == NULL)
			return false;
		print_group_row(groups[g].group, gs);
		if (!group_as_predicted(recs, g, gs)) {
			fprintf(stderr, "demo: group %s: unexpected counts\n",
			    groups[g].group);
			ok = false;
		}
		procq_summary_free(gs);
	}
	print_group_row("all", s);
	printf("\n");
	return ok;
}

static void
print_outcome(const char *label, size_t n)
{
	printf("  %-36s %6zu\n", label, n);
}

static void
print_outcomes(const struct tally *t)
{
	printf("%-38s %6s\n", "By outcome", "tasks");
	print_outcome("succeeded on the first attempt", t->clean);
	print_outcome("succeeded after a retry", t->retried);
	print_outcome("failed: the task reported an error", t->task_errors);
	print_outcome("failed: the worker crashed", t->crashed);
	print_outcome("failed: timed out", t->timed_out);
	if (t->other > 0)
		print_outcome("something else", t->other);
	printf("\n");
}

/* One line about one record: "invoice-017 ... worker died: SIGSEGV". */
static void
print_example(const struct record *rec)
{
	const procq_result *r = procq_handle_result(rec->handle);

	if (r == NULL)
		return;
	printf("  %-12s %-11s %6d/%d  ", rec->name, fault_names[rec->fault],
	    procq_result_attempts(r), RETRIES + 1);
	if (procq_result_status(r) == PROCQ_SUCCEEDED)
		printf("succeeded on attempt %d\n", procq_result_attempts(r));
	else if (procq_result_error_kind(r) == PROCQ_ERR_TASK)
		printf("%s: %s\n", procq_result_error_type(r),
		    procq_result_error_message(r));
	else	/* the message says it all: "worker died: SIGSEGV" */
		printf("%s\n", procq_result_error_message(r));
}

/* The first record of each kind of poison in the table. */
static void
print_examples(const struct record *recs)
{
	printf("%-14s %-11s %8s  %s\n", "Examples", "poison", "attempts",
	    "what procq reports");
	for (enum fault f = FAULT_SEGV; f <= FAULT_FLAKY; f++)
		for (size_t i = 0; i < NPOISONED; i++)
			if (poisoned[i].fault == f) {
				print_example(&recs[poisoned[i].index]);
				break;
			}
	printf("\n");
}

/* Check every returned checksum against our own; returns the bad ones. */
static size_t
check_values(const struct record *recs, size_t *good)
{
	size_t bad = 0;

	*good = 0;
	for (size_t i = 0; i < NRECORDS; i++) {
		const procq_result *r = procq_handle_result(recs[i].handle);
		uint64_t sum;
		int index;

		if (r == NULL || procq_result_status(r) != PROCQ_SUCCEEDED)
			continue;
		if (procq_result_unpack(r, "iu", &index, &sum) == 0 &&
		    index == recs[i].index && sum == recs[i].checksum)
			(*good)++;
		else
			bad++;
	}
	return bad;
}

/* Print the report; returns true if the run went as the records predict. */
static bool
report(const struct record *recs, const procq_summary *s)
{
	struct tally want, got;
	size_t good, bad;
	bool ok;

	tally_predicted(recs, &want);
	tally_run(s, &got);
	ok = print_groups(recs, s);
	print_outcomes(&got);
	print_examples(recs);

	bad = check_values(recs, &good);
	printf("Checksums: %zu returned, %zu match the ones computed here.\n\n",
	    good + bad, good);

	procq_summary_display(s, stdout);
	printf("\n%zu worker processes crashed and were replaced;\n"
	    "the other %zu tasks and this process carried on.\n",
	    got.crash_deaths, procq_summary_count(s) - got.crashed);

	if (!tally_equal(&want, &got)) {
		tally_print(stderr, "predicted", &want);
		tally_print(stderr, "got", &got);
		ok = false;
	}
	ok = ok && bad == 0 && procq_summary_submitted(s) == NRECORDS &&
	    procq_summary_count(s) == NRECORDS;
	if (!ok)
		fprintf(stderr, "demo: the run did not go as predicted\n");
	return ok;
}

/* ---- main -------------------------------------------------------------- */

/* The crashes are deliberate: leave no core files behind. */
static void
disable_core_dumps(void)
{
	struct rlimit rl = { 0, 0 };

	(void)setrlimit(RLIMIT_CORE, &rl);
}

static procq_queue *
make_queue(void)
{
	procq_config config = { .workers = NWORKERS };
	procq_queue *q;
	int err;

	if ((q = procq_create(&config, &err)) == NULL) {
		fprintf(stderr, "demo: procq_create: %s\n", procq_strerror(err));
		return NULL;
	}
	/* Register before the workers start: they inherit the registry. */
	if ((err = procq_register(q, "checksum", checksum_task)) != 0) {
		fprintf(stderr, "demo: procq_register: %s\n",
		    procq_strerror(err));
		procq_free(q);
		return NULL;
	}
	return q;
}

/*
 * Run every submitted task to the end.  Returns 0 or a procq error; on
 * PROCQ_ETIMEDOUT the unfinished tasks were cancelled and *summary is
 * still filled in.
 */
static int
run(procq_queue *q, procq_summary **summary)
{
	procq_run_opts opts = { .timeout = RUN_TIMEOUT };
	int err;

	printf("Running... ");
	/*
	 * The workers are forked from this process.  Flush stdio first, or a
	 * task that calls exit() would also flush a copy of our output.
	 */
	fflush(stdout);
	err = procq_run(q, &opts, summary);
	if (err != 0)
		fprintf(stderr, "demo: procq_run: %s\n", procq_strerror(err));
	if (*summary != NULL)
		printf("done in %.2f s.\n\n", procq_summary_duration(*summary));
	return err;
}

int
main(void)
{
	static struct record recs[NRECORDS];
	procq_summary *summary = NULL;
	procq_queue *q = NULL;
	int err, status = EXIT_FAILURE;

	disable_core_dumps();
	if (make_records(recs) != 0) {
		fprintf(stderr, "demo: %s\n", strerror(errno));
		goto out;
	}
	print_intro(recs);
	if ((q = make_queue()) == NULL || submit_all(q, recs) != 0)
		goto out;
	err = run(q, &summary);
	if (summary != NULL && report(recs, summary) && err == 0)
		status = EXIT_SUCCESS;
out:
	if (summary != NULL)
		procq_summary_free(summary);
	if (q != NULL)
		procq_free(q);	/* stops the workers; frees the handles */
	free_records(recs);
	return status;
}
