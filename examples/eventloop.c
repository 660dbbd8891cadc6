/*
 * eventloop: use procq from a program that already has its own poll(2)
 * loop, without ever blocking in procq.
 *
 * The loop waits on two descriptors: a timer that ticks every 50 ms (a
 * stand-in for a socket or any other source of work), and procq's notify
 * descriptor, readable while finished jobs wait to be collected.  Each tick
 * submits one job; procq_poll() collects the finished ones.  procq runs its
 * supervisor on a thread of its own, so the loop only ever makes calls that
 * return at once.
 *
 * The jobs count the steps of Collatz sequences.  The function has the
 * classic bug for 0 (0 is even, 0 / 2 is 0, forever): that job times out,
 * its worker is replaced, and the loop carries on.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <procq.h>

static const int64_t numbers[] = { 27, 97, 871, 0, 6171, 1, 703, 7 };
#define NJOBS	(sizeof numbers / sizeof numbers[0])

/* Worker side: "collatz" [n] returns how many steps n takes to reach 1. */
static int
collatz_task(procq_call *c)
{
	int64_t n, steps = 0;

	if (procq_call_unpack(c, "l", &n) != 0)
		return procq_call_fail(c, "ArgumentError", "expected [int]");
	while (n != 1) {		/* BUG: never ends for 0 */
		n = n % 2 == 0 ? n / 2 : 3 * n + 1;
		steps++;
	}
	return procq_call_return(c, "l", steps);
}

/* A descriptor that becomes readable every 50 ms. */
static int
make_timer(void)
{
	struct itimerspec its = {
		.it_interval = { 0, 50000000 }, .it_value = { 0, 50000000 }
	};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	if (fd >= 0 && timerfd_settime(fd, 0, &its, NULL) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Print what became of one job; returns 1 if it succeeded. */
static int
report(procq_handle *h)
{
	int64_t steps;

	if (procq_handle_value(h, "l", &steps) == 0) {
		printf("%s = %lld steps\n", procq_handle_name(h),
		    (long long)steps);
		return 1;
	}
	printf("%s %s: %s\n", procq_handle_name(h),
	    procq_error_kind_name(procq_handle_error_kind(h)),
	    procq_handle_error_message(h));
	return 0;
}

int
main(void)
{
	procq_config config = { .workers = 2 };
	procq_queue *q;
	struct pollfd pfd[2];
	size_t submitted = 0, collected = 0, succeeded = 0;
	int err, status = EXIT_FAILURE, timer = -1;

	if ((q = procq_create(&config, &err)) == NULL ||
	    (err = procq_register(q, "collatz", collatz_task)) != 0 ||
	    (err = procq_start(q)) != 0) {
		fprintf(stderr, "eventloop: %s\n", procq_strerror(err));
		goto out;
	}
	/* Ask for the descriptor first: completions count from this call. */
	pfd[0] = (struct pollfd){ .fd = procq_notify_fd(q), .events = POLLIN };
	timer = make_timer();
	pfd[1] = (struct pollfd){ .fd = timer, .events = POLLIN };
	if (pfd[0].fd < 0 || timer < 0) {
		perror("eventloop");
		goto out;
	}
	while (collected < NJOBS) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("eventloop: poll");
			goto out;
		}
		if (pfd[1].revents & POLLIN) {
			procq_opts opts = { .timeout = 0.3 };
			uint64_t expired;
			char name[32];

			/* Drain the timer: ticks missed while busy coalesce. */
			if (read(timer, &expired, sizeof expired) < 0 &&
			    errno != EAGAIN) {
				perror("eventloop: timer");
				goto out;
			}
			if (submitted < NJOBS) {
				snprintf(name, sizeof name, "collatz(%lld)",
				    (long long)numbers[submitted]);
				opts.name = name;
				/* No size limit: submitting never waits. */
				err = procq_submitf(q, "collatz", &opts, NULL,
				    "l", numbers[submitted]);
				if (err != 0) {
					fprintf(stderr, "eventloop: %s\n",
					    procq_strerror(err));
					goto out;
				}
				submitted++;
			} else	/* nothing left to submit: stop ticking */
				pfd[1].fd = -1;
		}
		if (pfd[0].revents & POLLIN) {
			procq_handle *done[4];
			size_t n;

			/* Collect them all: the descriptor then goes quiet. */
			while ((n = procq_poll(q, done, 4)) > 0)
				for (size_t i = 0; i < n; i++, collected++)
					succeeded += report(done[i]);
		}
	}
	printf("%zu jobs submitted, %zu succeeded, %zu failed\n", submitted,
	    succeeded, collected - succeeded);
	status = EXIT_SUCCESS;
out:
	if (timer >= 0)
		close(timer);
	procq_free(q);		/* closes the notify descriptor */
	return status;
}
