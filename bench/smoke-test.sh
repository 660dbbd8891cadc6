#!/bin/sh
# The benchmark programs still work: every procq scenario but scale (a
# million tasks is a benchmark's job) runs on a small count, checks its
# own results, and prints the metrics bench/report.py reads; so does the
# raw pipe.  Timings are not looked at.  When procq-bench-mpi was built
# and mpirun is found, its throughput and crash mix run briefly under
# mpirun, with one node agent and with two.  Last, procq(1) beside GNU
# parallel and xargs -P (bench/cli.py) on small counts.

# Open MPI's own leaks and locking are not procq's (tests/mpi-env.sh).
. "${srcdir:-.}/tests/mpi-env.sh"
fail() {
	echo "FAIL: bench: $1" >&2
	exit 1
}
run() {
	out=$("$@" 2>&1) || fail "$* exited with status $?: $out"
	printf '%s\n' "$out"
}
expect() {
	printf '%s\n' "$out" | grep -Eq "^RESULT $1 [0-9.]+$" ||
		fail "no line 'RESULT $1 <number>'"
}
run ./bench/procq-bench throughput -n 5000
expect 'procq throughput tasks_per_s'
run ./bench/procq-bench throughput -n 5000 -M
expect 'procq throughput tasks_per_s'
run ./bench/procq-bench latency -n 200
expect 'procq latency p50_us'
expect 'procq latency p99_us'
run ./bench/procq-bench crash -n 300
expect 'procq crash succeeded'
printf '%s\n' "$out" | grep -q '^RESULT procq crash succeeded 270$' ||
	fail "the crash mix did not keep 270 of 300 tasks"
printf '%s\n' "$out" | grep -q '^RESULT procq crash lost 0$' ||
	fail "the crash mix lost tasks"
run ./bench/procq-bench checkpoint -n 2000
expect 'procq checkpoint store_ratio'
expect 'procq checkpoint resume_s'
run ./bench/procq-bench memory -n 20000
expect 'procq memory bytes_per_task'
run ./bench/procq-bench respawn -n 5
expect 'procq respawn respawn_us'
for method in fork exec; do
	run ./bench/procq-bench respawn -n 5 -m "$method"
	expect 'procq respawn respawn_us'
	run ./bench/procq-bench throughput -n 2000 -m "$method"
	expect 'procq throughput tasks_per_s'
	# The burn and echo tasks, from an exec'd worker's table too.
	run ./bench/procq-bench scaling -n 50 -m "$method"
	expect 'procq scaling tasks_per_s_w8'
	run ./bench/procq-bench large_values -n 2 -m "$method"
	expect 'procq large_values mb_per_s'
done
run ./bench/procq-bench cancel -n 5
expect 'procq cancel cancel_us'
run ./bench/procq-bench scaling -n 200
for w in 1 2 4 8; do
	expect "procq scaling tasks_per_s_w$w"
	expect "procq scaling efficiency_w$w"
done
run ./bench/procq-bench large_values -n 4
expect 'procq large_values mb_per_s'
# Two batches of 10,000 after the three of the warm-up: the service joins
# and clears its results more than once while it is measured.
run ./bench/procq-bench service -n 20000
expect 'procq service tasks_per_s'
expect 'procq service rss_start_kib'
expect 'procq service rss_end_kib'
if [ -x ./bench/procq-bench-mpi ] && command -v "$MPIRUN" >/dev/null 2>&1; then
	mpi="timeout -k 10 120 $MPIRUN --allow-run-as-root --oversubscribe --bind-to none"
	run $mpi -np 2 ./bench/procq-bench-mpi throughput -n 300 -w 1
	expect 'procq throughput tasks_per_s'
	run $mpi -np 3 ./bench/procq-bench-mpi crash -n 100 -w 1
	printf '%s\n' "$out" | grep -q '^RESULT procq crash succeeded 90$' ||
		fail "the crash mix on two node agents did not keep 90 of 100 tasks"
	printf '%s\n' "$out" | grep -q '^RESULT procq crash lost 0$' ||
		fail "the crash mix on two node agents lost tasks"
fi
run ./bench/pingpong unbatched -n 2000
expect 'pipe_unbatched latency p50_us'
run ./bench/pingpong batched -n 20000
expect 'pipe_batched throughput tasks_per_s'
run ./bench/pingpong large -n 4
expect 'pipe_large large_values mb_per_s'
./bench/procq-bench nonsense >/dev/null 2>&1 && fail "an unknown scenario was accepted"

# procq(1) beside GNU parallel and xargs -P: each scenario of cli.py on a
# small count, the items run to their end (cli.py then checks that every
# one started a job).  GNU parallel is a dependency of the benchmarks
# only: without it, its runs are skipped.
python=${BENCH_PY:-/usr/bin/python3}
if [ ! -x "$python" ]; then
	echo "bench: $python not found: bench/cli.py skipped" >&2
	exit 0
fi
cli="$python ${srcdir:-.}/bench/cli.py"
impls="procq_cli parallel xargs"
if ! parallel --version 2>/dev/null | head -n 1 | grep -q '^GNU parallel'; then
	echo "bench: GNU parallel is not installed (Debian: parallel):" \
	    "its runs of bench/cli.py are skipped" >&2
	impls="procq_cli xargs"
fi
for impl in $impls; do
	run $cli "$impl" cli_true -n 20 --procq ./procq
	expect "$impl cli_true wall_s"
	expect "$impl cli_true peak_rss_mib"
	run $cli "$impl" cli_prog -n 20 --procq ./procq
	expect "$impl cli_prog wall_s"
	run $cli "$impl" cli_output -n 1048576 --procq ./procq
	expect "$impl cli_output wall_s"
	expect "$impl cli_output peak_rss_mib"
	run $cli "$impl" cli_items -n 20 --settle 100 --procq ./procq
	for metric in first_job_ms jobs_per_s peak_rss_mib watched_s; do
		expect "$impl cli_items $metric"
	done
	printf '%s\n' "$out" | grep -q "^RESULT $impl cli_items read_pct 100.000$" ||
		fail "$impl did not read all its input, or cli.py did not see it"
	# --pipe: a few blocks of 1 MiB, their lines counted (cli.py checks
	# the sum); xargs has no --pipe.
	[ "$impl" != xargs ] || continue
	run $cli "$impl" cli_pipe -n 300000 --procq ./procq
	expect "$impl cli_pipe wall_s"
	expect "$impl cli_pipe peak_rss_mib"
done
# procq(1) with its commands through the shell, as GNU parallel runs them.
run $cli procq_cli cli_true -n 20 --shell --procq ./procq
expect "procq_cli cli_true wall_s"
run $cli procq_cli cli_prog -n 20 --shell --procq ./procq
expect "procq_cli cli_prog wall_s"
run $cli procq_cli cli_pipe -n 300000 --shell --procq ./procq
expect "procq_cli cli_pipe wall_s"
$cli xargs cli_pipe >/dev/null 2>&1 &&
	fail "cli.py accepted xargs for cli_pipe"
$cli parallel cli_true --shell >/dev/null 2>&1 &&
	fail "cli.py accepted --shell for parallel"
$cli xargs nonsense >/dev/null 2>&1 &&
	fail "cli.py accepted an unknown scenario"
exit 0
