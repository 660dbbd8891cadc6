/*
 * Results: the immutable record of how a task ended (result.c), and
 * summaries of many (summary.c).
 */
#ifndef PROCQ_RESULT_H
#define PROCQ_RESULT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <msgpack.h>

#include "procq.h"

struct procq_result {
	atomic_int		 refs;
	procq_status		 status;
	procq_error_kind	 kind;
	int			 attempts;
	int			 exit_status;
	int			 signal;
	int rank;
	double			 duration;
	double			 started;	/* monotonic; 0 if it never ran */
	double			 finished;	/* monotonic */
	const char		*id;
	const char		*name;
	const char		*task;
	const char		*group;
	const char *host; /* NULL if it never ran */
	const char		*error_type;
	const char		*error_message;
	bool			 detached;
	bool			 resumed;	/* succeeded in an earlier run */
	const char		*metadata;
	size_t			 metadata_len;
	const char		*output;	/* the worker's stderr, crashes */
	size_t			 output_len;
	const char		*value_data;	/* raw msgpack, or NULL */
	size_t			 value_len;
	msgpack_object		 value;
	msgpack_zone		*zone;		/* only for arrays and maps */
};

struct procq_handle;

procq_result *result_new(const procq_handle *t, procq_status status,
    const procq_error *err, const char *value, size_t value_len,
    double duration);
procq_result *result_ref(procq_result *r);
procq_result *result_ref_fresh(procq_result *r);
void result_unref(procq_result *r);

procq_summary *summary_new(procq_result **results, size_t n,
    double duration);
void summary_set_run_timed_out(procq_summary *s);
void summary_set_first_failure(procq_summary *s, procq_result *r);

#endif
