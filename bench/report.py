#!/usr/bin/python3
"""Run the procq benchmarks and their peers, write a Markdown report.

Each (implementation, scenario) is run --runs times; the report holds the
median of every metric over the runs that worked, the ratio of procq to
each peer on the scenario's headline metric, and whether procq meets its
targets.  Progress and the programs' own stderr go to stderr.

Exit status: 0 when every run worked (whether or not the targets are met),
1 when a run failed, 2 on a usage error.
"""

import argparse
import datetime
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field

SCENARIOS = {
    "throughput": ["tasks_per_s"],
    "latency": ["p50_us", "p99_us"],
    "crash": ["succeeded", "failed", "lost", "tasks_per_s"],
    "memory": ["bytes_per_task", "arg_bytes"],
    "respawn": ["respawn_us"],
    "cancel": ["cancel_us"],
    "scale": ["us_per_task_10k", "us_per_task_100k", "us_per_task_1m"],
    "checkpoint": ["tasks_per_s_plain", "tasks_per_s_store", "store_ratio",
                   "resume_s"],
    "scaling": ["tasks_per_s_w1", "tasks_per_s_w2", "tasks_per_s_w4",
                "tasks_per_s_w8"],
    "large_values": ["mb_per_s"],
    "service": ["tasks_per_s", "rss_start_kib", "rss_end_kib"],
}
HEADLINE = {
    "throughput": "tasks_per_s",
    "latency": "p50_us",
    "crash": "tasks_per_s",
    "memory": "bytes_per_task",
    "respawn": "respawn_us",
    "cancel": "cancel_us",
    "scale": "us_per_task_1m",
    "checkpoint": "store_ratio",
    "scaling": "tasks_per_s_w8",
    "large_values": "mb_per_s",
    "service": "tasks_per_s",
}
# Scenarios of procq alone (its checkpoint store, a queue in service
# mode): no peer has them.
PROCQ_ONLY = {"checkpoint", "service"}
# The peers of a scenario that only some of them run.
SCENARIO_PEERS = {
    "scaling": ["pool_submit", "pool_map", "pebble"],
    "large_values": ["pool_submit"],
}
# Metrics of procq shown in a line under a scenario's table rather than
# as columns, with what they mean.
SIDE_METRICS = {
    "scaling": (["efficiency_w1", "efficiency_w2", "efficiency_w4",
                 "efficiency_w8"],
                "procq's efficiency, tasks_per_s against the ideal of "
                "min(workers, CPUs) × 10,000 tasks/s"),
}
# A few words under a scenario's heading.
SCENARIO_TEXT = {
    "scaling": "10,000 tasks that each burn 100 µs of CPU time (a busy "
    "loop on the thread's CPU clock, not a sleep) on 1, 2, 4 and 8 "
    "workers, in tasks/s; pool_map maps with a chunksize of 256.  With C "
    "cores the rate flattens at C workers (on 2 cores, at 2): the point "
    "is the overhead above the work, how far each row stays below "
    "min(workers, C) × 10,000 tasks/s.  procq vs this is at 8 workers.",
    "large_values": "200 tasks whose argument is 1 MiB of bytes and whose "
    "result is that argument echoed back, a few tasks in flight per "
    "worker (2 workers); mb_per_s counts the arguments and the results, "
    "in MB of 10^6 bytes a second.  pipe_large is the raw pipe: 1 MiB "
    "messages there and back between two processes.",
    "service": "10,000,000 trivial tasks through a queue in "
    "PROCQ_MODE_INFINITE, in batches of 10,000, each joined "
    "(procq_join()), checked and forgotten (handles released, "
    "procq_clear_results()).  rss_start_kib is the caller's RSS after "
    "three batches, rss_end_kib at the end: procq(7) says the memory of "
    "such a service stays flat however long it runs.",
}
HIGHER_IS_BETTER = {"tasks_per_s", "tasks_per_s_plain", "tasks_per_s_store",
                    "store_ratio", "tasks_per_s_w1", "tasks_per_s_w2",
                    "tasks_per_s_w4", "tasks_per_s_w8", "mb_per_s"}
PEERS = ["pool_submit", "pool_map", "mp_apply_async", "pebble"]
# The pipe programs measure one thing each way: impl -> (mode, the
# scenarios its lines carry).
PIPES = {
    "pipe_unbatched": ("unbatched", ["latency", "throughput"]),
    "pipe_batched": ("batched", ["latency", "throughput"]),
    "pipe_large": ("large", ["large_values"]),
}
# procq with a start method other than its default (the fork server), on
# the scenarios where the method matters.
METHODS = {"procq_fork": "fork", "procq_exec": "exec"}
METHOD_SCENARIOS = ["respawn", "throughput"]
# procq submitting with one procq_map() call instead of a procq_submitf()
# per task (procq-bench -M), on the throughput scenario: the way to set
# against ProcessPoolExecutor.map().
MAP_IMPL = "procq_map"
# procq with its workers on other MPI ranks (procq-bench-mpi under
# mpirun: every rank but 0 is a node agent) against workers on this host,
# on the same work: impl -> (MPI ranks, 0 for local workers; workers per
# host).  Each MPI row is set against the local row with as many workers
# in all; they have a section of their own (mpi_section()).
MPI_IMPLS = {
    "local_1w": (0, 1),
    "local_2w": (0, 2),
    "mpi_1x1": (2, 1),
    "mpi_2x1": (3, 1),
}
MPI_AGAINST = {"mpi_1x1": "local_1w", "mpi_2x1": "local_2w"}
# Tasks per run: a count of their own, the same in every row.
MPI_TASKS = {"throughput": 20000, "crash": 10000}
# As root Open MPI wants --allow-run-as-root; --oversubscribe lets more
# ranks than cores start; --bind-to none leaves the ranks and their
# workers free to move, as local workers are (by default Open MPI pins
# two ranks to a core each, and three on two cores to none).
MPIRUN_FLAGS = ["--allow-run-as-root", "--oversubscribe", "--bind-to",
                "none"]
# procq(1), the command, beside GNU parallel and xargs -P (bench/cli.py):
# jobs that are programs, their items on a pipe; a section of its own
# (cli_section()), where procq_cli is the row the others are set against.
CLI_SCENARIOS = {
    "cli_true": ["wall_s", "peak_rss_mib"],
    "cli_prog": ["wall_s", "peak_rss_mib"],
    "cli_output": ["wall_s", "peak_rss_mib"],
    "cli_items": ["first_job_ms", "peak_rss_mib", "jobs_per_s", "read_pct",
                  "watched_s"],
    "cli_pipe": ["wall_s", "peak_rss_mib"],
}
CLI_HEADLINE = {
    "cli_true": "wall_s",
    "cli_prog": "wall_s",
    "cli_output": "peak_rss_mib",
    "cli_items": "first_job_ms",
    "cli_pipe": "wall_s",
}
# Jobs, bytes of output, items: the counts of the targets.
CLI_COUNTS = {"cli_true": 10_000, "cli_prog": 10_000, "cli_output": 1 << 30,
              "cli_items": 1_000_000, "cli_pipe": 10_000_000}
# A cli_items run is stopped once a job has started and its peak RSS has
# grown by less than 1 MiB over CLI_SETTLE_S seconds.  The caps on a run:
# GNU parallel needs minutes for 10,000 jobs on a slow two-CPU machine;
# the rest takes seconds when all is well.
CLI_SETTLE_S = 5
CLI_TIMEOUT_S = {"cli_true": 480, "cli_prog": 480, "cli_output": 120,
                 "cli_items": 120, "cli_pipe": 120}
# The times bench/cli.py cannot give when a run reaches its cap (n/a,
# "timed out"): the run took longer than the cap, and the median counts
# it as at least that.
CLI_BOUNDED = {
    ("cli_true", "wall_s"): CLI_TIMEOUT_S["cli_true"],
    ("cli_prog", "wall_s"): CLI_TIMEOUT_S["cli_prog"],
    ("cli_output", "wall_s"): CLI_TIMEOUT_S["cli_output"],
    ("cli_items", "first_job_ms"): CLI_TIMEOUT_S["cli_items"] * 1000,
    ("cli_pipe", "wall_s"): CLI_TIMEOUT_S["cli_pipe"],
}
# procq_cli_sh is procq(1) with its commands through the shell (--shell),
# as GNU parallel runs them: the row the target against GNU parallel is
# measured on.  procq_cli runs them directly, as xargs -P does.
CLI_SHELL_IMPL = "procq_cli_sh"
# procq_cli and procq_cli_sh with an older build of procq(1)
# (--procq-cli-baseline), run interleaved with the others.
CLI_BEFORE = {"procq_cli": "procq_cli_before",
              CLI_SHELL_IMPL: "procq_cli_sh_before"}
CLI_IMPLS = ["procq_cli", CLI_SHELL_IMPL, "parallel", "xargs"]
# The implementations of a scenario that only some of them run: xargs -P
# has no --pipe; procq through the shell is timed where the shell counts.
CLI_SCENARIO_IMPLS = {
    "cli_output": ["procq_cli", "parallel", "xargs"],
    "cli_items": ["procq_cli", "parallel", "xargs"],
    "cli_pipe": ["procq_cli", CLI_SHELL_IMPL, "parallel"],
}
# --only cli: the whole section.
SCENARIO_GROUPS = {"cli": list(CLI_SCENARIOS)}
ALL_SCENARIOS = {**SCENARIOS, **CLI_SCENARIOS}
HEADLINE.update(CLI_HEADLINE)
HIGHER_IS_BETTER.add("jobs_per_s")
IMPLS = (["procq", MAP_IMPL] + list(METHODS) + PEERS + list(PIPES) +
         list(MPI_IMPLS) + CLI_IMPLS)

RUN_TIMEOUT_S = 600
STDERR_TAIL_LINES = 20
# Long enough for a wedged program to show it is wedged, short enough
# not to hold up the report.
PROBE_TIMEOUT_S = 20


@dataclass
class Job:
    """One program invocation, run several times."""

    impl: str
    scenarios: list
    argv: list
    # The name the program prints for itself, when the report shows it
    # under another (an older build of procq is "procq_before").
    prints: str = ""


@dataclass
class Failure:
    impl: str
    scenarios: list
    run: int
    runs: int
    reason: str
    stderr_tail: list


@dataclass
class Value:
    """A median, or n/a with the reason the program gave.  A bound is a
    median known only to be at least number (runs past their cap)."""

    number: float | None = None
    note: str = ""
    bound: bool = False

    @property
    def missing(self):
        return self.number is None


@dataclass
class Results:
    # (impl, scenario, metric) -> [float | None] and the n/a notes
    samples: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)
    # (impl, scenario) -> runs that worked
    good_runs: dict = field(default_factory=dict)


# ---------------------------------------------------------------- options


def split_list(text, allowed, what, groups=None):
    groups = groups or {}
    items = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in items if s not in allowed and s not in groups]
    if unknown or not items:
        raise argparse.ArgumentTypeError(
            f"unknown {what}: {','.join(unknown) or '(none)'}; "
            f"choose from {','.join(list(allowed) + list(groups))}")
    wanted = []
    for s in items:
        for item in groups.get(s, [s]):
            if item not in wanted:
                wanted.append(item)
    return wanted


def positive_int(text):
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"not a positive integer: {text}")
    return n


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Run the procq benchmarks and their peers several "
        "times and write a Markdown report of the medians.",
        epilog="Exit status: 0 if every run worked, 1 if a run failed, "
        "2 on a usage error.  Missed targets do not change it.")
    p.add_argument("--procq", metavar="PATH",
                   help="procq's benchmark program")
    p.add_argument("--peers", metavar="PATH",
                   help="peers.py, the Python pools to compare with")
    p.add_argument("--pingpong", metavar="PATH",
                   help="the pipe round-trip program (the physical limit)")
    p.add_argument("--procq-mpi", metavar="PATH",
                   help="procq's benchmark program built with MPI "
                   "(procq-bench-mpi); without it the MPI rows are skipped")
    p.add_argument("--mpirun", metavar="PATH", default="mpirun",
                   help="Open MPI's mpirun (default: %(default)s)")
    p.add_argument("--baseline", metavar="PATH",
                   help="an older build's procq-bench, run interleaved "
                   "with the others and shown as procq_before")
    p.add_argument("--python", metavar="PATH", default="/usr/bin/python3",
                   help="interpreter for peers.py (default: %(default)s)")
    p.add_argument("--runs", metavar="N", type=positive_int, default=3,
                   help="runs of each benchmark (default: %(default)s)")
    p.add_argument("--quick", action="store_true",
                   help="one run of each (same as --runs 1)")
    p.add_argument("--out", metavar="FILE",
                   help="also write the report to FILE")
    p.add_argument("--cli", metavar="PATH",
                   help="cli.py, procq(1) beside GNU parallel and xargs -P")
    p.add_argument("--procq-cli", metavar="PATH",
                   help="procq(1), the command (for the cli scenarios)")
    p.add_argument("--procq-cli-libs", metavar="DIR[:...]",
                   help="directories put first in LD_LIBRARY_PATH for "
                   "procq(1) alone (its uninstalled library)")
    p.add_argument("--procq-cli-baseline", metavar="PATH",
                   help="an older build's procq(1), run interleaved with "
                   "the others and shown as " +
                   " and ".join(CLI_BEFORE.values()))
    p.add_argument("--procq-cli-baseline-libs", metavar="DIR[:...]",
                   help="its uninstalled library's directories, as "
                   "--procq-cli-libs")
    p.add_argument("--parallel", metavar="PATH", default="parallel",
                   help="GNU parallel (default: %(default)s); when it is "
                   "missing its rows are skipped")
    p.add_argument("--xargs", metavar="PATH", default="xargs",
                   help="xargs (default: %(default)s)")
    p.add_argument("--only", metavar="SCENARIO[,...]",
                   type=lambda s: split_list(s, list(ALL_SCENARIOS),
                                             "scenario", SCENARIO_GROUPS),
                   help="run only these scenarios: " +
                   ",".join(ALL_SCENARIOS) + "; cli is every cli_ one")
    p.add_argument("--impl", metavar="IMPL[,...]",
                   type=lambda s: split_list(s, IMPLS, "implementation"),
                   help="run only these implementations: " + ",".join(IMPLS))
    args = p.parse_args(argv)
    if args.quick:
        args.runs = 1
    check_paths(p, args)
    return args


def check_paths(parser, args):
    """Fail now rather than once per run on a path that cannot work."""
    impls = args.impl or IMPLS
    scenarios = args.only or list(ALL_SCENARIOS)
    library = any(s in SCENARIOS for s in scenarios)
    args.cli_scenarios = []
    if any(i in CLI_IMPLS for i in impls):
        args.cli_scenarios = [s for s in scenarios if s in CLI_SCENARIOS]
    cli = bool(args.cli_scenarios)
    needed = []
    if library and ("procq" in impls or MAP_IMPL in impls or
                    any(i in METHODS for i in impls) or
                    any(i in MPI_IMPLS for i in impls)):
        needed.append(("--procq", args.procq))
    if library and any(i in PEERS for i in impls):
        needed += [("--peers", args.peers), ("--python", args.python)]
    if library and any(i in PIPES for i in impls):
        needed.append(("--pingpong", args.pingpong))
    if library and args.baseline:
        needed.append(("--baseline", args.baseline))
    if cli:
        needed += [("--cli", args.cli), ("--python", args.python)]
    if cli and ("procq_cli" in impls or CLI_SHELL_IMPL in impls):
        needed.append(("--procq-cli", args.procq_cli))
    if cli and args.procq_cli_baseline:
        needed.append(("--procq-cli-baseline", args.procq_cli_baseline))
    for opt, path in needed:
        if not path:
            parser.error(f"{opt} is required for the implementations chosen")
        if opt == "--python" and shutil.which(path):
            continue
        if not os.path.isfile(path):
            parser.error(f"{opt} {path}: no such file")
    # Without MPI the MPI rows are skipped, and say why.
    args.mpi_skip = None
    if any(i in MPI_IMPLS for i in impls):
        if not args.procq_mpi:
            args.mpi_skip = ("procq was built without MPI (configure found "
                             "no Open MPI), so there is no procq-bench-mpi")
        elif not os.path.isfile(args.procq_mpi):
            parser.error(f"--procq-mpi {args.procq_mpi}: no such file")
        elif not args.mpirun or not shutil.which(args.mpirun):
            args.mpi_skip = (f"mpirun not found ({args.mpirun or 'none'}"
                             "; Debian: openmpi-bin)")
    # Without pebble its rows are skipped, and say why.
    args.pebble_skip = None
    if library and "pebble" in impls:
        if ask([args.python, "-c", "import pebble; print('ok')"],
               "") != "ok":
            args.pebble_skip = (f"pebble is not installed for "
                                f"{args.python} (Debian: python3-pebble)")
    # Without GNU parallel its rows are skipped, and say why.
    args.parallel_skip = None
    args.parallel_version = None
    if cli and "parallel" in impls:
        version = ask([args.parallel, "--version"], "")
        if version.startswith("GNU parallel"):
            args.parallel_version = version
        else:
            args.parallel_skip = (f"{args.parallel} is not GNU parallel, or "
                                  "not found (Debian: parallel; moreutils "
                                  "has another parallel)")
    # A bare name would be looked up in PATH, not in the current directory.
    for opt in ("procq", "pingpong", "baseline", "procq_mpi", "procq_cli",
                "procq_cli_baseline"):
        path = getattr(args, opt)
        if path and os.sep not in path:
            setattr(args, opt, os.path.join(os.curdir, path))
    if args.out:
        outdir = os.path.dirname(args.out) or "."
        if not os.path.isdir(outdir):
            parser.error(f"--out {args.out}: no such directory {outdir}")


# ---------------------------------------------------------------- the jobs


def make_jobs(args):
    scenarios = [s for s in args.only or SCENARIOS if s in SCENARIOS]
    impls = args.impl or IMPLS
    jobs = []
    if "procq" in impls:
        jobs += [Job("procq", [s], [args.procq, s]) for s in scenarios]
    if MAP_IMPL in impls and "throughput" in scenarios:
        jobs.append(Job(MAP_IMPL, ["throughput"],
                        [args.procq, "throughput", "-M"], "procq"))
    for impl, method in METHODS.items():
        if impl in impls:
            jobs += [Job(impl, [s], [args.procq, s, "-m", method], "procq")
                     for s in scenarios if s in METHOD_SCENARIOS]
    if args.baseline:
        jobs += [Job("procq_before", [s], [args.baseline, s], "procq")
                 for s in scenarios]
    for peer in PEERS:
        if peer in impls and not (peer == "pebble" and args.pebble_skip):
            jobs += [Job(peer, [s], [args.python, args.peers, peer, s])
                     for s in scenarios if s not in PROCQ_ONLY and
                     peer in SCENARIO_PEERS.get(s, PEERS)]
    if not args.mpi_skip:
        for s, n in MPI_TASKS.items():
            if s not in scenarios:
                continue
            for impl, (ranks, workers) in MPI_IMPLS.items():
                if impl not in impls:
                    continue
                argv = [s, "-n", str(n), "-w", str(workers)]
                if ranks == 0:
                    argv = [args.procq] + argv
                else:
                    argv = ([args.mpirun] + MPIRUN_FLAGS +
                            ["-np", str(ranks), args.procq_mpi] + argv)
                jobs.append(Job(impl, [s], argv, "procq"))
    for impl, (mode, carried) in PIPES.items():
        pipe_scenarios = [s for s in carried if s in scenarios]
        if impl in impls and pipe_scenarios:
            jobs.append(Job(impl, pipe_scenarios, [args.pingpong, mode]))
    return jobs + cli_jobs(args, impls)


def cli_jobs(args, impls):
    """A scenario's implementations one after the other, so that each
    round runs them close together in time."""
    jobs = []
    for s in args.cli_scenarios:
        for impl in CLI_SCENARIO_IMPLS.get(s, CLI_IMPLS):
            if impl not in impls or (impl == "parallel" and
                                     args.parallel_skip):
                continue
            shell = impl == CLI_SHELL_IMPL
            argv = [args.python, args.cli,
                    "procq_cli" if shell else impl, s, "-n",
                    str(CLI_COUNTS[s]), "--settle", str(CLI_SETTLE_S),
                    "--timeout", str(CLI_TIMEOUT_S[s]),
                    "--parallel", args.parallel, "--xargs", args.xargs]
            if args.procq_cli:
                argv += ["--procq", args.procq_cli]
            if args.procq_cli_libs:
                argv += ["--procq-libs", args.procq_cli_libs]
            if shell:
                argv.append("--shell")
            jobs.append(Job(impl, [s], argv,
                            "procq_cli" if shell else ""))
            if impl in CLI_BEFORE and args.procq_cli_baseline:
                jobs.append(cli_baseline_job(argv, s, args, impl))
    return jobs


def cli_baseline_job(argv, scenario, args, impl):
    """The older procq(1) on the argv of impl (procq_cli or
    procq_cli_sh)."""
    argv = list(argv)
    argv[argv.index("--procq") + 1] = args.procq_cli_baseline
    if "--procq-libs" in argv:
        i = argv.index("--procq-libs")
        del argv[i:i + 2]
    if args.procq_cli_baseline_libs:
        argv += ["--procq-libs", args.procq_cli_baseline_libs]
    return Job(CLI_BEFORE[impl], [scenario], argv, "procq_cli")


# ---------------------------------------------------------------- running


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def pass_stderr(stream, tail):
    """Show the program's stderr as it comes, keeping the end for a report."""
    for raw in stream:
        line = raw.decode(errors="replace")
        sys.stderr.write(line)
        sys.stderr.flush()
        tail.append(line.rstrip("\n"))


def collect_stdout(stream, lines):
    for raw in stream:
        lines.append(raw.decode(errors="replace").rstrip("\n"))


def kill_group(proc):
    # Workers the program forked share its process group; leftovers would
    # hold the pipes open and load the machine during the next run.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_program(argv):
    """Run argv once; return (stdout lines, error or None, stderr tail)."""
    out, tail = [], deque(maxlen=STDERR_TAIL_LINES)
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE,
                                start_new_session=True)
    except OSError as e:
        return out, f"could not start: {e.strerror}", list(tail)
    readers = [
        threading.Thread(target=collect_stdout, args=(proc.stdout, out)),
        threading.Thread(target=pass_stderr, args=(proc.stderr, tail)),
    ]
    for t in readers:
        t.start()
    error = None
    try:
        code = proc.wait(timeout=RUN_TIMEOUT_S)
        if code < 0:
            error = f"killed by signal {signal.Signals(-code).name}"
        elif code > 0:
            error = f"exit status {code}"
    except subprocess.TimeoutExpired:
        error = f"timed out after {RUN_TIMEOUT_S} s, killed"
    finally:
        kill_group(proc)
        proc.wait()
        for t in readers:
            t.join()
        proc.stdout.close()
        proc.stderr.close()
    return out, error, list(tail)


def parse_result(line):
    """(impl, scenario, metric, number or None, note), or None if not one."""
    body, _, note = line.partition("#")
    fields = body.split()
    if len(fields) != 5 or fields[0] != "RESULT":
        return None
    _, impl, scenario, metric, text = fields
    if text == "n/a":
        number = None
    else:
        try:
            number = float(text)
        except ValueError:
            return None
        if not math.isfinite(number):
            return None
    return impl, scenario, metric, number, note.strip()


def record_run(results, job, lines):
    """Store a run's RESULT lines; return how many there were."""
    count = 0
    for line in lines:
        if not line.startswith("RESULT"):
            continue
        parsed = parse_result(line)
        if parsed is None:
            log(f"report: ignoring a malformed line from {job.impl}: {line}")
            continue
        impl, scenario, metric, number, note = parsed
        if job.prints and impl == job.prints:
            impl = job.impl
        if impl != job.impl or scenario not in job.scenarios:
            log(f"report: ignoring a line {job.impl} was not asked for: "
                f"{line}")
            continue
        key = (impl, scenario, metric)
        results.samples.setdefault(key, []).append(number)
        if number is None:
            results.notes.setdefault(key, [])
            if note and note not in results.notes[key]:
                results.notes[key].append(note)
        count += 1
    return count


def run_all(jobs, runs):
    results = Results()
    total, step = len(jobs) * runs, 0
    # Round after round over every job, rather than one job's runs in a
    # row: the runs of each are spread over the whole report, so that a
    # passing state of the machine does not decide a median alone.
    for run in range(1, runs + 1):
        for job in jobs:
            step += 1
            what = f"{job.impl} {'+'.join(job.scenarios)} run {run}/{runs}"
            log(f"[{step}/{total}] {what} ...")
            start = time.monotonic()
            lines, error, tail = run_program(job.argv)
            elapsed = time.monotonic() - start
            # A program that measures nothing has broken as surely as one
            # that exits non-zero.  (The batched pipe has no latency, so
            # one scenario of several being silent is fine.)
            if error is None and record_run(results, job, lines) == 0:
                error = "no RESULT lines"
            if error is None:
                for s in job.scenarios:
                    key = (job.impl, s)
                    results.good_runs[key] = results.good_runs.get(key, 0) + 1
                log(f"[{step}/{total}] {what}: {elapsed:.1f} s")
            else:
                results.failures.append(
                    Failure(job.impl, job.scenarios, run, runs, error, tail))
                log(f"[{step}/{total}] {what}: FAILED ({error}) "
                    f"after {elapsed:.1f} s")
    return results


def medians(results):
    """(impl, scenario, metric) -> Value."""
    table = {}
    for key, samples in results.samples.items():
        numbers = [x for x in samples if x is not None]
        cap = CLI_BOUNDED.get(key[1:])
        if cap is not None and len(numbers) < len(samples):
            table[key] = bounded_median(samples, cap)
        elif numbers:
            table[key] = Value(statistics.median(numbers))
        else:
            table[key] = Value(None, "; ".join(results.notes.get(key, [])))
    return table


def bounded_median(samples, cap):
    """The median of runs some of which reached the cap (None): each of
    those took at least cap, more than any run that ended in time."""
    ordered = sorted((cap, True) if x is None else (x, False)
                     for x in samples)
    middle = ordered[(len(ordered) - 1) // 2:len(ordered) // 2 + 1]
    number = sum(x for x, _ in middle) / len(middle)
    return Value(number, bound=any(over for _, over in middle))


# ---------------------------------------------------------------- machine


def ask(argv, default, env=None):
    """First line of a short command's stdout, or default."""
    try:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, env=env,
                           timeout=PROBE_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return default
    first = r.stdout.strip().splitlines()[:1]
    return first[0].strip() if r.returncode == 0 and first else default


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    return value.strip()
    except OSError:
        pass
    return "unknown"


def cgroup_cpu_limit():
    """The cgroup v2 CPU quota in CPUs, or None when there is none."""
    try:
        with open("/sys/fs/cgroup/cpu.max", encoding="ascii") as f:
            quota, period = f.read().split()[:2]
        return int(quota) / int(period)
    except (OSError, ValueError):
        return None


def machine_lines(args):
    uname = os.uname()
    affinity = len(os.sched_getaffinity(0))
    cpus = f"{os.cpu_count()} online, {affinity} usable by this process"
    limit = cgroup_cpu_limit()
    if limit is not None:
        cpus += f", cgroup quota {limit:g}"
    lines = [
        f"CPUs: {cpus}",
        f"CPU model: {cpu_model()}",
        f"Kernel: {uname.sysname} {uname.release}",
    ]
    # What the library's scenarios run, when any of them runs.
    library = any(s in SCENARIOS for s in args.only or SCENARIOS)
    if args.procq and library:
        version = ask([args.procq, "--version"], "not reported")
        lines.append("procq version: " + version.removeprefix("procq "))
    python = ask([args.python, "-c",
                  "import platform; print(platform.python_version())"],
                 "not found")
    pebble = ask([args.python, "-c",
                  "import pebble; print(pebble.__version__)"],
                 "not installed")
    if (library and any(i in MPI_IMPLS for i in args.impl or IMPLS) and
            not args.mpi_skip):
        lines.append("MPI: " + ask([args.mpirun, "--version"],
                                   "not reported"))
    lines += cli_machine_lines(args)
    lines.append(f"Python: {python}")
    if library:
        lines.append(f"pebble: {pebble}")
    lines += [
        "Date: " + datetime.datetime.now(datetime.timezone.utc)
        .strftime("%Y-%m-%d %H:%M UTC"),
        f"Each value is the median of {args.runs} run"
        + ("s" if args.runs != 1 else ""),
    ]
    if args.only or args.impl:
        lines.append("Subset: scenarios "
                     + ", ".join(args.only or ["all"])
                     + "; implementations "
                     + ", ".join(args.impl or ["all"]))
    return lines


def cli_env(args):
    """procq(1)'s environment, as bench/cli.py gives it."""
    if not args.procq_cli_libs:
        return None
    env = dict(os.environ)
    old = env.get("LD_LIBRARY_PATH")
    env["LD_LIBRARY_PATH"] = args.procq_cli_libs + (f":{old}" if old else "")
    return env


def cli_machine_lines(args):
    """The programs of the cli scenarios, when they run."""
    if not args.cli_scenarios:
        return []
    lines = []
    if args.procq_cli:
        version = ask([args.procq_cli, "--version"], "not reported",
                      cli_env(args))
        lines.append("procq(1) version: " + version.removeprefix("procq "))
    if args.parallel_version:
        lines.append("GNU parallel: " +
                     args.parallel_version.removeprefix("GNU parallel "))
    if "xargs" in (args.impl or IMPLS):
        xargs = ask([args.xargs, "--version"], "not reported")
        lines.append(f"xargs: {xargs}")
    jobs = os.sysconf("SC_NPROCESSORS_ONLN")
    lines.append(f"Jobs at once in the cli scenarios: {jobs} (online CPUs)")
    return lines


# ---------------------------------------------------------------- formats


WHOLE_NUMBER_METRICS = {"tasks_per_s", "bytes_per_task", "arg_bytes",
                        "succeeded", "failed", "lost", "jobs_per_s",
                        "tasks_per_s_w1", "tasks_per_s_w2", "tasks_per_s_w4",
                        "tasks_per_s_w8", "rss_start_kib", "rss_end_kib"}


def fmt_number(metric, x):
    if (metric.endswith("_us") or metric.endswith("_ms") or
            metric.startswith("us_per_task")):
        return f"{x:.1f}" if abs(x) < 100 else f"{x:,.0f}"
    if metric in WHOLE_NUMBER_METRICS or x == int(x) or abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def fmt_ratio(r):
    # Two significant digits at least, so that a small ratio is not 0.00×.
    if r < 0.1:
        return f"{r:.2g}×"
    return f"{r:,.2f}×" if r < 10 else f"{r:,.1f}×"


def speedup(scenario, procq, other):
    """How many times better procq is than other on the headline metric."""
    if procq is None or other is None or procq.missing or other.missing:
        return None
    if HEADLINE[scenario] in HIGHER_IS_BETTER:
        num, den = procq.number, other.number
    else:
        num, den = other.number, procq.number
    return num / den if den > 0 else None


# ---------------------------------------------------------------- tables


def impl_order(keys):
    extra = sorted({k[0] for k in keys} - set(IMPLS))
    return IMPLS + extra


def scenario_section(scenario, values, results, heading=None):
    """A scenario's table: its metrics and how procq compares with each
    implementation (procq_cli for the cli scenarios)."""
    keys = [k for k in values if k[1] == scenario]
    failed = {f.impl for f in results.failures if scenario in f.scenarios}
    present = {k[0] for k in keys} | failed
    rows = [i for i in impl_order(keys)
            if i in present and i not in MPI_IMPLS]
    if not rows:
        return []
    metrics = list(ALL_SCENARIOS[scenario])
    metrics += sorted({k[2] for k in keys} - set(metrics))
    headline = HEADLINE[scenario]
    mine = "procq_cli" if scenario in CLI_SCENARIOS else "procq"
    side, side_text = SIDE_METRICS.get(scenario, ([], ""))
    metrics = [m for m in metrics if m not in side]
    lines = [heading or f"## {scenario}", ""]
    if scenario in SCENARIO_TEXT:
        lines += [SCENARIO_TEXT[scenario], ""]
    lines += ["| impl | " + " | ".join(metrics) + " | procq vs this |",
             "|---" + "|---:" * (len(metrics) + 1) + "|"]
    notes = []
    for impl in rows:
        worked = results.good_runs.get((impl, scenario), 0)
        cells = []
        for m in metrics:
            v = values.get((impl, scenario, m))
            if worked == 0 and impl in failed:
                cells.append("error")
            elif v is None:
                cells.append("—")
            elif v.missing:
                cells.append("n/a")
                note = f"{impl}: {v.note or f'{m} not measured'}"
                if note not in notes:
                    notes.append(note)
            else:
                bound = "> " if v.bound else ""
                cells.append(bound + fmt_number(m, v.number))
                notes += partly_missing(results, impl, scenario, m, notes)
        ratio = None
        if impl != mine and worked:
            ratio = bounded_speedup(scenario,
                                    values.get((mine, scenario, headline)),
                                    values.get((impl, scenario, headline)))
        cells.append(ratio or "—")
        lines.append(f"| {impl} | " + " | ".join(cells) + " |")
        broken = sum(1 for f in results.failures
                     if f.impl == impl and scenario in f.scenarios)
        if broken and worked:
            notes.append(f"{impl}: {broken} run(s) failed, median of the "
                         f"{worked} that worked (see Errors)")
        elif broken:
            notes.append(f"{impl}: every run failed (see Errors)")
    lines.append("")
    shown = [(m, values.get((mine, scenario, m))) for m in side]
    shown = [(m, v) for m, v in shown if v is not None and not v.missing]
    if shown:
        lines += [f"{side_text}: " + ", ".join(
            f"{m.rsplit('_', 1)[-1]} {fmt_number(m, v.number)}"
            for m, v in shown) + ".", ""]
    if notes:
        lines += [f"- {n}" for n in notes] + [""]
    return lines


def bounded_speedup(scenario, procq, other):
    """speedup() as text, "> " or "< " before it when a median is a
    bound (only times are: lower is better)."""
    ratio = speedup(scenario, procq, other)
    if ratio is None or (procq.bound and other.bound):
        return None
    if other.bound:
        return "> " + fmt_ratio(ratio)
    if procq.bound:
        return "< " + fmt_ratio(ratio)
    return fmt_ratio(ratio)


def partly_missing(results, impl, scenario, metric, notes):
    """A note when some runs measured nothing (a run timed out, for
    instance): the median is of the others, or counts them as the cap."""
    key = (impl, scenario, metric)
    samples = results.samples.get(key, [])
    missing = sum(1 for x in samples if x is None)
    if not missing:
        return []
    why = "; ".join(results.notes.get(key, [])) or "not measured"
    cap = CLI_BOUNDED.get((scenario, metric))
    if cap is None:
        then = "the median is of the others"
    else:
        then = f"counted as at least {fmt_number(metric, cap)}"
    note = f"{impl}: {metric} in {missing} of {len(samples)} runs: {why}; "
    note += then
    return [] if note in notes else [note]


def mpi_section(args, values, results):
    """Local workers against workers on other ranks: throughput, the
    per-task time and what the MPI path adds to it, and the crash mix."""
    wanted = [i for i in MPI_IMPLS if i in (args.impl or IMPLS)]
    scenarios = [s for s in MPI_TASKS if s in (args.only or SCENARIOS)]
    if not wanted or not scenarios:
        return []
    lines = ["## mpi", ""]
    if args.mpi_skip:
        return lines + [f"Skipped: {args.mpi_skip}.", ""]
    lines += [
        f"procq-bench {' and '.join(scenarios)} "
        f"({', '.join(f'{MPI_TASKS[s]:,} tasks' for s in scenarios)}); "
        "ranks × workers is the MPI job (rank 0 and its node agents) and "
        "the workers on each agent; µs_per_task is wall time / tasks; "
        "mpi_us_per_task is what the MPI path adds to the local row with "
        "as many workers.", "",
        "| impl | ranks × workers | tasks_per_s | µs_per_task | "
        "mpi_us_per_task | crash tasks_per_s | succeeded | failed | lost "
        "| nothing lost |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|:---:|"]
    notes = []

    def worked(impl, scenario):
        return results.good_runs.get((impl, scenario), 0)

    def us(impl):
        tps = get(values, impl, "throughput", "tasks_per_s")
        return 1e6 / tps if tps else None

    for impl in wanted:
        ranks, workers = MPI_IMPLS[impl]
        cells = [f"{ranks} × {workers}" if ranks else f"local, {workers}"]
        if "throughput" in scenarios and not worked(impl, "throughput"):
            cells += ["error"] * 3
        elif "throughput" in scenarios:
            mine, local = us(impl), us(MPI_AGAINST.get(impl, ""))
            cells.append(fmt_number(
                "tasks_per_s", get(values, impl, "throughput",
                                   "tasks_per_s")))
            cells.append(f"{mine:,.1f}")
            cells.append(f"{mine - local:+,.1f}"
                         if impl in MPI_AGAINST and local else "—")
        else:
            cells += ["—"] * 3
        if "crash" in scenarios and worked(impl, "crash"):
            for m in ("tasks_per_s", "succeeded", "failed", "lost"):
                v = get(values, impl, "crash", m)
                cells.append("—" if v is None else fmt_number(m, v))
            # Every run that worked accounted for every task it submitted
            # (procq-bench fails a run that does not).
            ok = [results.samples.get((impl, "crash", m), [])
                  for m in ("succeeded", "failed")]
            whole = all(x is not None and y is not None and
                        x + y == MPI_TASKS["crash"]
                        for x, y in zip(*ok))
            broken = any(f.impl == impl and "crash" in f.scenarios
                         for f in results.failures)
            cells.append("yes" if whole and not broken else "**no**")
        elif "crash" in scenarios:
            cells += ["error"] * 4 + ["**no**"]
        else:
            cells += ["—"] * 5
        lines.append(f"| {impl} | " + " | ".join(cells) + " |")
        for s in scenarios:
            broken = sum(1 for f in results.failures
                         if f.impl == impl and s in f.scenarios)
            if broken:
                notes.append(f"{impl} {s}: {broken} run(s) failed, median "
                             f"of the {worked(impl, s)} that worked "
                             "(see Errors)")
    lines.append("")
    if notes:
        lines += [f"- {n}" for n in notes] + [""]
    return lines


def get(values, impl, scenario, metric):
    v = values.get((impl, scenario, metric))
    return None if v is None or v.missing else v.number


def ratio_target(values, scenario, peer, factor, strict=False,
                 impl="procq"):
    mine = get(values, impl, scenario, "tasks_per_s")
    theirs = get(values, peer, scenario, "tasks_per_s")
    if mine is None or not theirs:
        return None, None
    r = mine / theirs
    return f"{fmt_ratio(r)} {peer}", (r > factor if strict else r >= factor)


def targets(values):
    """[(target, measured, met)]; measured and met are None without data."""
    rows = []

    def add(name, result):
        rows.append((name, *result))

    add("throughput ≥ 40× pebble",
        ratio_target(values, "throughput", "pebble", 40))
    add("throughput ≥ 40× pool_submit",
        ratio_target(values, "throughput", "pool_submit", 40))
    add("throughput of procq_map() > pool_map",
        ratio_target(values, "throughput", "pool_map", 1, strict=True,
                     impl=MAP_IMPL))
    add("throughput of a procq_submit() loop > pool_map",
        ratio_target(values, "throughput", "pool_map", 1, strict=True))

    tps = get(values, "procq", "throughput", "tasks_per_s")
    add("throughput ≥ 500,000 tasks/s",
        (None, None) if tps is None
        else (f"{tps:,.0f} tasks/s", tps >= 500_000))

    mine = get(values, "procq", "latency", "p50_us")
    pipe = get(values, "pipe_unbatched", "latency", "p50_us")
    add("latency p50 ≤ 2× pipe_unbatched p50",
        (None, None) if mine is None or not pipe
        else (f"{fmt_ratio(mine / pipe)} pipe_unbatched", mine <= 2 * pipe))

    counts = [get(values, "procq", "crash", m)
              for m in ("succeeded", "failed", "lost")]
    add("crash: succeeded = 9,000, failed = 1,000, lost = 0",
        (None, None) if None in counts
        else (" / ".join(f"{c:,.0f}" for c in counts),
              counts == [9000, 1000, 0]))
    add("crash tasks_per_s ≥ 100× pebble",
        ratio_target(values, "crash", "pebble", 100))

    per_task = get(values, "procq", "memory", "bytes_per_task")
    arg = get(values, "procq", "memory", "arg_bytes")
    add("memory: bytes_per_task − arg_bytes ≤ 300",
        (None, None) if per_task is None or arg is None
        else (f"{per_task - arg:,.0f} B", per_task - arg <= 300))

    for scenario, metric, limit in (("respawn", "respawn_us", 1000),
                                    ("cancel", "cancel_us", 5000)):
        us = get(values, "procq", scenario, metric)
        add(f"{metric} ≤ {limit:,} µs",
            (None, None) if us is None
            else (f"{fmt_number(metric, us)} µs", us <= limit))

    # The start methods (procq(7)): procq's own rows use the default,
    # the fork server; procq_fork's respawn is in the respawn table.
    exec_us = get(values, "procq_exec", "respawn", "respawn_us")
    add("respawn_us (exec) ≤ 5,000 µs",
        (None, None) if exec_us is None
        else (f"{fmt_number('respawn_us', exec_us)} µs", exec_us <= 5000))
    server = get(values, "procq", "throughput", "tasks_per_s")
    fork = get(values, "procq_fork", "throughput", "tasks_per_s")
    add("throughput: fork server ≥ 0.95 × fork",
        (None, None) if server is None or not fork
        else (fmt_ratio(server / fork), server >= 0.95 * fork))

    big = get(values, "procq", "scale", "us_per_task_1m")
    small = get(values, "procq", "scale", "us_per_task_10k")
    add("scale: us_per_task_1m ≤ 1.3 × us_per_task_10k",
        (None, None) if big is None or not small
        else (fmt_ratio(big / small), big <= 1.3 * small))

    ratio = get(values, "procq", "checkpoint", "store_ratio")
    add("checkpoint: throughput with a store ≥ 50 % of without",
        (None, None) if ratio is None
        else (f"{ratio * 100:.0f} %", ratio >= 0.5))

    # procq(7): a service that releases its handles and clears its
    # results keeps its memory flat however long it runs.
    start = get(values, "procq", "service", "rss_start_kib")
    end = get(values, "procq", "service", "rss_end_kib")
    add("service: RSS at the end ≤ 1.1 × RSS at the start + 4 MiB",
        (None, None) if start is None or end is None
        else (f"{start / 1024:,.1f} → {end / 1024:,.1f} MiB",
              end <= 1.1 * start + 4096))
    return rows


def targets_section(rows, heading="## Targets"):
    lines = [heading, "", "| target | measured | met? |",
             "|---|---:|:---:|"]
    for name, measured, met in rows:
        mark = "?" if met is None else ("✔" if met else "✘")
        lines.append(f"| {name} | {measured or '—'} | {mark} |")
    return lines + [""]


def fmt_count(scenario):
    n = CLI_COUNTS[scenario]
    if scenario == "cli_output":
        return f"{n >> 30:,} GiB" if n % (1 << 30) == 0 else f"{n:,} bytes"
    return f"{n:,}"


def cli_targets(values):
    """procq(1)'s targets: [(target, measured, met)] as targets()."""
    rows = []

    def measured(impl, scenario, metric):
        v = values.get((impl, scenario, metric))
        return None if v is None or v.missing else v

    def ratio(name, peer, limit, procq_over_peer, impl="procq_cli"):
        mine = measured(impl, "cli_true", "wall_s")
        theirs = measured(peer, "cli_true", "wall_s")
        if not mine or not theirs or (mine.bound and theirs.bound):
            rows.append((name, None, None))
            return
        if procq_over_peer:
            r, more = mine.number / theirs.number, mine.bound
            text, met = f"{fmt_ratio(r)} {peer}", r <= limit
        else:
            r, more = theirs.number / mine.number, theirs.bound
            text, met = f"{fmt_ratio(r)} faster", r >= limit
        if mine.bound or theirs.bound:
            # The median past the cap is a bound: so is the ratio, which
            # may be enough to tell.
            text = f"{'>' if more else '<'} {text}"
            if more and r >= limit:
                met = not procq_over_peer
            elif not more and r <= limit:
                met = procq_over_peer
            else:
                met = None
        rows.append((name, text, met))

    def at_most(name, scenario, metric, limit, unit, strict=False):
        v = measured("procq_cli", scenario, metric)
        if not v:
            rows.append((name, None, None))
            return
        text = f"{fmt_number(metric, v.number)} {unit}"
        met = v.number < limit if strict else v.number <= limit
        if v.bound:
            text = "> " + text
            met = False if v.number >= limit else None
        rows.append((name, text, met))

    jobs, items = fmt_count("cli_true"), fmt_count("cli_items")
    ratio(f"{jobs} true jobs: wall time ≤ 1.2 × xargs -P", "xargs", 1.2,
          True)
    ratio(f"{jobs} true jobs, through the shell as GNU parallel runs them "
          f"({CLI_SHELL_IMPL}): ≥ 4× faster than GNU parallel", "parallel",
          4, False, CLI_SHELL_IMPL)
    at_most(f"{fmt_count('cli_output')} of output: peak RSS ≤ 64 MiB",
            "cli_output", "peak_rss_mib", 64, "MiB")
    at_most(f"{items} items: peak RSS ≤ 64 MiB", "cli_items",
            "peak_rss_mib", 64, "MiB")
    at_most(f"{items} items: first job started < 100 ms", "cli_items",
            "first_job_ms", 100, "ms", strict=True)
    return rows


def cli_ratios(args, values):
    """procq(1) through the shell set against GNU parallel, and both
    procq rows against the older build, scenario by scenario: the ratios
    of the medians."""
    def wall(impl, s):
        v = values.get((impl, s, "wall_s"))
        return None if v is None or v.missing or not v.number else v

    def ratio(peer, mine, s):
        theirs, ours = wall(peer, s), wall(mine, s)
        if theirs is None or ours is None or ours.bound:
            return "—"
        return (f"{'> ' if theirs.bound else ''}"
                f"{fmt_ratio(theirs.number / ours.number)}")

    rows = [f"| {s} | {ratio('parallel', CLI_SHELL_IMPL, s)} | "
            f"{ratio(CLI_BEFORE[CLI_SHELL_IMPL], CLI_SHELL_IMPL, s)} | "
            f"{ratio(CLI_BEFORE['procq_cli'], 'procq_cli', s)} |"
            for s in args.cli_scenarios
            if wall(CLI_SHELL_IMPL, s) or wall("procq_cli", s)]
    if not rows:
        return []
    return ["### Ratios: against GNU parallel and the older build", "",
            "How many times longer the row took than the column's procq "
            "(medians); the _before rows are --procq-cli-baseline, run "
            "interleaved with the others.", "",
            f"| scenario | parallel ÷ {CLI_SHELL_IMPL} | "
            f"{CLI_BEFORE[CLI_SHELL_IMPL]} ÷ {CLI_SHELL_IMPL} | "
            f"{CLI_BEFORE['procq_cli']} ÷ procq_cli |",
            "|---|---:|---:|---:|"] + rows + [""]


def cli_section(args, values, results):
    """procq(1) beside GNU parallel and xargs -P, with its own targets."""
    if not args.cli_scenarios:
        return []
    titles = {
        "cli_true": f"{fmt_count('cli_true')} `true` jobs",
        "cli_prog": f"{fmt_count('cli_prog')} jobs of the program "
        "`/usr/bin/true`, not the shell's builtin",
        "cli_output": f"one job writing {fmt_count('cli_output')} "
        "(`sh -c 'head -c N /dev/zero'`)",
        "cli_items": f"{fmt_count('cli_items')} items: the first job, and "
        "memory until it settles",
        "cli_pipe": f"--pipe: {fmt_count('cli_pipe')} lines in blocks of "
        "1 MiB to `wc -l` jobs",
    }
    caps = ", ".join(f"{s} {t} s" for s, t in CLI_TIMEOUT_S.items())
    lines = [
        "## procq(1) against GNU parallel and xargs -P", "",
        "bench/cli.py: each implementation reads its items from a pipe "
        "(`seq N`) and runs the command once per item, as many jobs at "
        "once as there are online CPUs: `procq -q -j J -- CMD`, "
        "`parallel --will-cite -q -j J CMD`, `xargs -P J -n 1 CMD`; "
        f"{CLI_SHELL_IMPL} is `procq -q -j J --shell -- CMD`, each command "
        "through /bin/sh -c as GNU parallel runs them.  cli_pipe is "
        "parallel_tutorial(7)'s `parallel --pipe wc` over ten times its "
        "num1000000: `--pipe --block 1M` and `wc -l`, the lines counted "
        "checked (xargs has no --pipe).  "
        "The output goes to /dev/null (cli_pipe's to a file, to be "
        "checked).  wall_s is from starting the "
        "program to its exit; peak_rss_mib is the high-water mark "
        "(VmHWM) of the process started, not of its children (procq's "
        "workers, the jobs), sampled every 5 ms.  A run of a million "
        "items would take hours: it is stopped once a job has started "
        "and the peak RSS has grown by less than 1 MiB over "
        f"{CLI_SETTLE_S} s (watched_s), when a program that reads all "
        "its input first has read it and one that streams has shown its "
        "pace; first_job_ms is from starting the program to the first "
        "job's start, jobs_per_s counts the jobs started after it, "
        "read_pct is the share of the input the program had read when "
        f"stopped.  A run is also stopped at its cap ({caps}); a time "
        "it did not reach is counted as the cap, and a median over it "
        "shows as > cap.  procq vs this is how many times better "
        "procq_cli does than the row on the scenario's measure: the wall "
        "time of the true jobs and of --pipe, the peak RSS under the "
        "large output, the time to the first job of the many items.", ""]
    if args.parallel_skip:
        lines += [f"GNU parallel skipped: {args.parallel_skip}.", ""]
    for scenario in args.cli_scenarios:
        lines += scenario_section(scenario, values, results,
                                  f"### {scenario}: {titles[scenario]}")
    return lines + cli_ratios(args, values) + targets_section(
        cli_targets(values),
                                   "### Targets of procq(1)")


def errors_section(failures):
    """The failures, runs that failed the same way shown once."""
    if not failures:
        return []
    groups = {}
    for f in failures:
        key = (f.impl, tuple(f.scenarios), f.reason, tuple(f.stderr_tail))
        groups.setdefault(key, []).append(f)
    lines = ["## Errors", ""]
    for (impl, scenarios, reason, tail), group in groups.items():
        which = ", ".join(str(f.run) for f in group)
        plural = "s" if len(group) > 1 else ""
        lines.append(f"- {impl} {'+'.join(scenarios)}, run{plural} {which} "
                     f"of {group[0].runs}: {reason}")
        if tail:
            lines += ["", "  ```text"] + [f"  {t}" for t in tail]
            lines += ["  ```", ""]
    return lines + [""]


HOW_TO_RUN = (
    "`scripts/bench` installs the peers, builds procq and writes this "
    "file; `make bench` in a build directory does the same but installs "
    "nothing.  `scripts/bench --only cli` runs only procq(1) against GNU "
    "parallel and xargs -P, `--only throughput,latency` only those "
    "scenarios of the library, and so on (`bench/report.py --help`); "
    "`--out FILE` writes the report to FILE instead, so that a part does "
    "not replace the whole.")


def render(args, results):
    values = medians(results)
    lines = ["# procq benchmarks", "", HOW_TO_RUN, "", "## Machine", ""]
    lines += [f"- {m}" for m in machine_lines(args)] + [""]
    if args.pebble_skip:
        lines += [f"pebble skipped: {args.pebble_skip}.", ""]
    for scenario in SCENARIOS:
        lines += scenario_section(scenario, values, results)
    lines += mpi_section(args, values, results)
    if any(s in SCENARIOS for s in args.only or SCENARIOS):
        lines += targets_section(targets(values))
    lines += cli_section(args, values, results)
    lines += errors_section(results.failures)
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


def main(argv):
    args = parse_args(argv)
    results = run_all(make_jobs(args), args.runs)
    report = render(args, results)
    sys.stdout.write(report)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(report)
        log(f"report: wrote {args.out}")
    if results.failures:
        log(f"report: {len(results.failures)} run(s) failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
