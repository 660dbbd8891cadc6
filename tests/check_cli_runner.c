/*
 * procq(1)'s task (src/cli/runner.c) driven through a queue of its own,
 * with arguments procq(1) does not send yet: the job slot's positions in
 * the words, a command's standard input, and how the reports tell that
 * a command exited while processes it started kept its output open.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* procq(1)'s write_all() is not the tests' (util.h), and not used here. */
#define write_all cli_write_all
#include "cli/cli.h"
#undef write_all
#include "util.h"

/* What the hook saw of the reports. */
struct seen {
	pthread_mutex_t	 lock;
	struct buf	 out;		/* the command's stdout */
	int		 n;		/* reports */
	int		 exit_at;	/* index of the exit report, or -1 */
	int		 code;
	int		 sig;
	int		 held_at;	/* index of the held report, or -1 */
	double		 held;		/* seconds the command ran */
	int		 out_after_exit; /* output reports after the exit */
	int		 submitted;
	int		 completed;	/* on_complete: the reports before
					 * are all in */
};

static struct seen seen = { .lock = PTHREAD_MUTEX_INITIALIZER };

static const procq_worker_task tasks[] = {
	{ CLI_TASK, runner_task },
	{ NULL, NULL }
};

static void
seen_report(struct seen *s, const msgpack_object *v)
{
	int attempt, stream, code, sig;
	const void *p;
	size_t len;
	double t;

	if (procq_unpack(v, "iiy", &attempt, &stream, &p, &len) == 0) {
		if (stream == CLI_STREAM_OUT)
			ck_assert_int_eq(buf_append(&s->out, p, len), 0);
		s->out_after_exit += s->exit_at >= 0;
	} else if (procq_unpack(v, "iiii", &attempt, &stream, &code,
	    &sig) == 0 && stream == CLI_STREAM_EXIT) {
		s->exit_at = s->n;
		s->code = code;
		s->sig = sig;
	} else if (procq_unpack(v, "iid", &attempt, &stream, &t) == 0 &&
	    stream == CLI_STREAM_HELD) {
		s->held_at = s->n;
		s->held = t;
	}
	s->n++;
}

static void
on_progress(procq_handle *h, const msgpack_object *v, void *arg)
{
	struct seen *s = arg;

	(void)h;
	pthread_mutex_lock(&s->lock);
	seen_report(s, v);
	pthread_mutex_unlock(&s->lock);
}

static void
on_complete(procq_handle *h, const procq_result *r, void *arg)
{
	struct seen *s = arg;

	(void)h;
	(void)r;
	pthread_mutex_lock(&s->lock);
	s->completed++;
	pthread_mutex_unlock(&s->lock);
}

/* Hooks run after their events: a task may be done before they have. */
static bool
all_completed(void *arg)
{
	struct seen *s = arg;
	bool done;

	pthread_mutex_lock(&s->lock);
	done = s->completed == s->submitted;
	pthread_mutex_unlock(&s->lock);
	return done;
}

static procq_queue *
runner_queue(int workers)
{
	procq_config cfg = { .workers = workers, .on_progress = on_progress,
	    .on_complete = on_complete, .hook_arg = &seen };
	procq_queue *q;
	int err = 0;

	buf_free(&seen.out);
	seen.submitted = seen.completed = 0;
	seen.n = seen.out_after_exit = 0;
	seen.exit_at = seen.held_at = -1;
	q = test_create_with(&cfg, tasks, false, &err);
	ck_assert_msg(q != NULL, "%s", procq_strerror(err));
	ck_assert_int_eq(procq_start(q), 0);
	return q;
}

/* Submits the task and waits until its hooks have run. */
static procq_handle *
submit_bytes(procq_queue *q, const char *data, size_t len)
{
	procq_handle *h = NULL;

	pthread_mutex_lock(&seen.lock);
	seen.submitted++;
	pthread_mutex_unlock(&seen.lock);
	ck_assert_int_eq(procq_submit(q, CLI_TASK, data, len, NULL, &h), 0);
	wait_done(h, 20);
	ck_assert(wait_until(all_completed, &seen, 10));
	return h;
}

/* [seq, [words...]] or [seq, [words...], opts]: one run of a command. */
static procq_handle *
run_words(procq_queue *q, const char *const *words, size_t n,
    const struct run_opts *o)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	procq_handle *h;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, o != NULL ? 3 : 2);
	msgpack_pack_uint64(&pk, 7);
	msgpack_pack_array(&pk, n);
	for (size_t i = 0; i < n; i++)
		msgpack_pack_str_with_body(&pk, words[i], strlen(words[i]));
	if (o != NULL)
		ck_assert_int_eq(runner_pack_opts(&pk, o), 0);
	h = submit_bytes(q, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	return h;
}

/* sh -c SCRIPT. */
static procq_handle *
run_sh(procq_queue *q, const char *script, const struct run_opts *o)
{
	const char *words[] = { "sh", "-c", script };

	return run_words(q, words, 3, o);
}

static void
assert_out(const char *want)
{
	pthread_mutex_lock(&seen.lock);
	ck_assert_msg(seen.out.len == strlen(want) &&
	    memcmp(seen.out.data, want, seen.out.len) == 0,
	    "output '%.*s', expected '%s'", (int)seen.out.len,
	    seen.out.len > 0 ? seen.out.data : "", want);
	pthread_mutex_unlock(&seen.lock);
}

static void
assert_ok(procq_handle *h)
{
	ck_assert_msg(procq_handle_status(h) == PROCQ_SUCCEEDED, "%s: %s",
	    procq_status_name(procq_handle_status(h)), message_of(h));
}

static void
assert_failed(procq_handle *h, const char *type, const char *text)
{
	const char *t = procq_handle_error_type(h);

	ck_assert_int_eq(procq_handle_status(h), PROCQ_FAILED);
	ck_assert_str_eq(t != NULL ? t : "", type);
	ck_assert_msg(strstr(message_of(h), text) != NULL,
	    "message '%s' lacks '%s'", message_of(h), text);
}

/* The arguments procq(1) sends today still run the command. */
START_TEST(test_two_element_args)
{
	procq_queue *q = runner_queue(1);
	procq_handle *h = run_sh(q, "echo $PROCQ_SEQ $PROCQ_ATTEMPT", NULL);

	assert_ok(h);
	assert_out("7 1\n");
	procq_free(q);
}
END_TEST

/* The slot number goes where the positions say, several per word. */
START_TEST(test_slot_positions)
{
	static const struct slot_pos pos[] = {
		{ 1, 0, 0 }, { 1, 2, 0 }, { 1, 2, 0 }, { 2, 4, 0 }, { 3, 0, 0 }
	};
	const char *words[] = { "echo", "abcd", "last", "" };
	struct run_opts o = { .slot = pos, .nslot = 5 };
	procq_queue *q;
	procq_handle *h;

	ck_assert_int_eq(slots_create(1), 0);
	q = runner_queue(1);
	h = run_words(q, words, 4, &o);
	assert_ok(h);
	assert_out("1ab11cd last1 1\n");
	procq_free(q);
}
END_TEST

/* A position with a width pads the slot number with zeros ({0%}). */
START_TEST(test_slot_padded)
{
	static const struct slot_pos pos[] = { { 1, 1, 3 }, { 1, 1, 0 } };
	const char *words[] = { "echo", "ab" };
	struct run_opts o = { .slot = pos, .nslot = 2 };
	procq_queue *q;
	procq_handle *h;

	ck_assert_int_eq(slots_create(1), 0);
	q = runner_queue(1);
	h = run_words(q, words, 2, &o);
	assert_ok(h);
	assert_out("a0011b\n");
	procq_free(q);
}
END_TEST

/* No slots (a worker on another host): a command that needs one fails;
 * one that does not runs without PROCQ_SLOT. */
START_TEST(test_slot_without_table)
{
	static const struct slot_pos pos[] = { { 1, 0, 0 } };
	const char *words[] = { "echo", "x" };
	struct run_opts o = { .slot = pos, .nslot = 1 };
	procq_queue *q;
	procq_handle *h;

	unsetenv(SLOTS_ENV);	/* another test's, in one process */
	q = runner_queue(1);
	h = run_words(q, words, 2, &o);
	assert_failed(h, "SlotError", "no job slot here");
	h = run_sh(q, "echo ${PROCQ_SLOT-none}", NULL);
	assert_ok(h);
	assert_out("none\n");
	procq_free(q);
}
END_TEST

/* Positions outside the words, out of order, and unknown options are
 * refused before anything runs. */
START_TEST(test_bad_options)
{
	static const struct slot_pos past[] = { { 1, 2, 0 } };
	static const struct slot_pos none[] = { { 2, 0, 0 } };
	static const struct slot_pos order[] = { { 1, 1, 0 }, { 1, 0, 0 } };
	static const struct slot_pos *bad[] = { past, none, order };
	static const size_t nbad[] = { 1, 1, 2 };
	const char *words[] = { "echo", "x" };
	procq_queue *q;
	procq_handle *h;
	msgpack_sbuffer sb;
	msgpack_packer pk;

	ck_assert_int_eq(slots_create(2), 0);
	q = runner_queue(1);
	for (size_t i = 0; i < 3; i++) {
		struct run_opts o = { .slot = bad[i], .nslot = nbad[i] };

		h = run_words(q, words, 2, &o);
		assert_failed(h, "ArgumentError", "malformed option 'slot'");
	}
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint64(&pk, 1);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_str_with_body(&pk, "true", 4);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, "env", 3);
	msgpack_pack_nil(&pk);
	h = submit_bytes(q, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	assert_failed(h, "ArgumentError", "unknown option 'env'");
	procq_free(q);
}
END_TEST

/* The bytes given are the command's standard input; without them it is
 * at end of file. */
START_TEST(test_stdin)
{
	struct run_opts o = { .in = "one\ntwo\n", .in_len = 8, .has_in = true };
	procq_queue *q = runner_queue(1);
	procq_handle *h;

	h = run_sh(q, "sort -r", &o);
	assert_ok(h);
	assert_out("two\none\n");
	h = run_sh(q, "wc -c", NULL);
	assert_ok(h);
	assert_out("two\none\n0\n");
	o.in_len = 0;
	h = run_sh(q, "wc -c", &o);
	assert_ok(h);
	assert_out("two\none\n0\n0\n");
	procq_free(q);
}
END_TEST

/* More than a pipe holds, read to the end or not read at all: the command
 * that leaves it unread neither hangs nor takes its worker down, and the
 * worker runs the next one. */
START_TEST(test_stdin_large)
{
	size_t len = 4 * 1024 * 1024;
	char *big = malloc(len);
	struct run_opts o = { .in = big, .in_len = len, .has_in = true };
	procq_queue *q = runner_queue(1);
	procq_handle *h;

	char want[96], pid[32];

	ck_assert_ptr_nonnull(big);
	memset(big, 'x', len);
	h = run_sh(q, "wc -c", &o);
	assert_ok(h);
	assert_out("4194304\n");
	/* The worker is the command's parent. */
	h = run_sh(q, "echo \" $PPID\"", NULL);
	assert_ok(h);
	pthread_mutex_lock(&seen.lock);
	ck_assert_uint_lt(seen.out.len, sizeof pid + 8);
	snprintf(pid, sizeof pid, "%.*s", (int)seen.out.len - 8,
	    seen.out.data + 8);
	pthread_mutex_unlock(&seen.lock);
	h = run_sh(q, "exit 0", &o);
	assert_ok(h);
	h = run_sh(q, "head -c 3", &o);
	assert_ok(h);
	h = run_sh(q, "echo \" $PPID\"", NULL);
	assert_ok(h);
	snprintf(want, sizeof want, "4194304\n%sxxx%s", pid, pid);
	assert_out(want);
	procq_free(q);
	free(big);
}
END_TEST

/* The command's status is reported as it exits, before what a process it
 * started writes later, and with word that such a process holds its
 * output. */
START_TEST(test_exit_before_output_closes)
{
	procq_queue *q = runner_queue(1);
	procq_handle *h;

	h = run_sh(q, "echo a; (sleep 0.3; echo b) & exit 4", NULL);
	assert_failed(h, "ExitStatus", "exit status 4");
	assert_out("a\nb\n");
	pthread_mutex_lock(&seen.lock);
	ck_assert_int_eq(seen.code, 4);
	ck_assert_int_eq(seen.sig, -1);
	ck_assert_int_eq(seen.held_at, seen.exit_at + 1);
	ck_assert_int_eq(seen.out_after_exit, 1);
	ck_assert_msg(seen.held >= 0 && seen.held < 0.3, "ran %g s",
	    seen.held);
	pthread_mutex_unlock(&seen.lock);
	procq_free(q);
}
END_TEST

/* A command that leaves nothing behind: no word of held output. */
START_TEST(test_exit_alone)
{
	procq_queue *q = runner_queue(1);
	procq_handle *h = run_sh(q, "echo a; kill -TERM $$", NULL);

	assert_failed(h, "Signal", "killed by SIGTERM");
	assert_out("a\n");
	pthread_mutex_lock(&seen.lock);
	ck_assert_int_eq(seen.code, -1);
	ck_assert_int_eq(seen.sig, 15);
	ck_assert_int_eq(seen.exit_at, seen.n - 1);
	ck_assert_int_eq(seen.held_at, -1);
	pthread_mutex_unlock(&seen.lock);
	procq_free(q);
}
END_TEST

/* "nice" sets the command's niceness; "memfree" and "load" that the
 * machine allows let it start at once. */
START_TEST(test_nice_and_gate)
{
	struct run_opts o = { .nice = 7, .has_nice = true, .memfree = 1,
		.load = 1e6 };
	procq_queue *q = runner_queue(1);
	procq_handle *h;

	h = run_sh(q, "nice", &o);
	assert_ok(h);
	assert_out("7\n");
	procq_free(q);
}
END_TEST

/* A "nice" out of range, and a "load" that is no number, are malformed. */
START_TEST(test_start_opts_malformed)
{
	static const char *const keys[] = { "nice", "load" };
	procq_queue *q = runner_queue(1);

	for (size_t i = 0; i < 2; i++) {
		msgpack_sbuffer sb;
		msgpack_packer pk;
		procq_handle *h;

		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_array(&pk, 3);
		msgpack_pack_uint64(&pk, 1);
		msgpack_pack_array(&pk, 1);
		msgpack_pack_str_with_body(&pk, "true", 4);
		msgpack_pack_map(&pk, 1);
		msgpack_pack_str_with_body(&pk, keys[i], strlen(keys[i]));
		msgpack_pack_int(&pk, 40);
		h = submit_bytes(q, sb.data, sb.size);
		msgpack_sbuffer_destroy(&sb);
		assert_failed(h, "ArgumentError", "malformed option");
	}
	procq_free(q);
}
END_TEST

static Suite *
runner_suite(void)
{
	Suite *s = suite_create("cli_runner");
	TCase *tc = add_tcase(s, "runner", 60);

	tcase_add_test(tc, test_two_element_args);
	tcase_add_test(tc, test_slot_positions);
	tcase_add_test(tc, test_slot_padded);
	tcase_add_test(tc, test_slot_without_table);
	tcase_add_test(tc, test_bad_options);
	tcase_add_test(tc, test_stdin);
	tcase_add_test(tc, test_stdin_large);
	tcase_add_test(tc, test_exit_before_output_closes);
	tcase_add_test(tc, test_exit_alone);
	tcase_add_test(tc, test_nice_and_gate);
	tcase_add_test(tc, test_start_opts_malformed);
	return s;
}

int
main(int argc, char **argv)
{
	int rc;

	if ((rc = test_serve_as_worker(argc, argv, tasks, false)) >= 0)
		return rc;
	return run_suite(runner_suite());
}
