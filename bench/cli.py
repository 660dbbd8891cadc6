#!/usr/bin/python3
"""procq(1) beside GNU parallel and xargs -P on the same jobs.

    cli.py IMPL SCENARIO [-n N] [-j N] [--procq PATH] [--procq-libs DIRS]
           [--shell] [--parallel PATH] [--xargs PATH] [--timeout SECONDS]
           [--settle SECONDS]

IMPL is procq_cli (procq(1)), parallel (GNU parallel) or xargs (xargs -P).
Each is given the same command and reads its items from a pipe (seq N),
one a line, running the command once per item with the item as its last
argument, J jobs at once (-j, default: the online CPUs), its output going
to /dev/null.  procq(1) runs the words as given (procq --no-shell, as
parallel -q quotes them); with --shell it runs a shell for every job
(procq --shell), as GNU parallel does (it always has a shell in the path;
xargs has none).  The scenarios:

    cli_true    N true jobs (default 10,000): wall time
    cli_prog    the same with the program true (found in PATH, as
                /usr/bin/true), not the shell's builtin: wall time
    cli_output  one job writing N bytes of zeros without a newline
                (default 1 GiB, sh -c 'head -c N /dev/zero'): wall time
    cli_items   N items (default 1,000,000) of a job that only says it has
                started: the time from starting IMPL to the first job's
                start, the jobs started per second after it, and how much
                of its input IMPL had read when it was stopped
    cli_pipe    N lines (default 10,000,000, ten times the tutorial's
                num1000000: 79 MB) cut into blocks of 1 MiB, each the
                input of a `wc -l` job, as parallel_tutorial(7) does with
                `parallel --pipe wc`: wall time (procq_cli and parallel;
                the lines the jobs counted must add up to N)

Every scenario reports the peak RSS of the process started (VmHWM,
sampled every few milliseconds; the high-water mark only grows, so a
sample misses only what it gained in the last few milliseconds before it
exited), not of its children: procq(1)'s workers and the jobs themselves
are children, GNU parallel's spooled output is in its perl process.

A cli_items run would take hours: it is stopped once a job has started
and the peak RSS has grown by less than 1 MiB over the last --settle
seconds, so that what memory grows with the input read has shown; or at
--timeout seconds.  Any other run that has not finished after --timeout
seconds is stopped there.

Every result is one line on stdout:

    RESULT <impl> <scenario> <metric> <value>[ # <note>]

where <value> is a number or n/a (the note then says why): a time is
n/a, "timed out", when the run was stopped at --timeout before it ended
(cli_items: before its first job).  The peak RSS is always the peak until
the run ended or was stopped.  The exit status is 0 when the run was
measured, timed out or not; 1 when it failed (a non-zero exit status,
GNU parallel missing, a job not run); 2 on a usage error.
"""

import argparse
import ctypes
import fcntl
import os
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import termios
import time
from collections import deque
from dataclasses import dataclass

IMPLS = ("procq_cli", "parallel", "xargs")
SCENARIOS = {
    "cli_true": 10_000,
    "cli_prog": 10_000,
    "cli_output": 1 << 30,
    "cli_items": 1_000_000,
    "cli_pipe": 10_000_000,
}
# Caps on a run.  GNU parallel needs minutes for 10,000 jobs on a slow
# two-CPU machine; the other runs take seconds when all is well.
TIMEOUT_S = {
    "cli_true": 480.0,
    "cli_prog": 480.0,
    "cli_output": 120.0,
    "cli_items": 120.0,
    "cli_pipe": 120.0,
}
# The scenarios xargs -P has no way to run.
NOT_XARGS = {"cli_pipe"}
# A cli_items run is stopped once its peak RSS has grown by less than
# SETTLE_KIB over SETTLE_S seconds (and a job has started): a program that
# reads all its input first has read it, one that streams has shown it.
SETTLE_S = 5.0
SETTLE_KIB = 1024
SAMPLE_MS = 5
# How long the processes a stopped run leaves behind may take to die.
LEFTOVER_TIMEOUT_S = 10.0
PR_SET_CHILD_SUBREAPER = 36
STDERR_TAIL_LINES = 20


class BenchError(Exception):
    pass


@dataclass
class Run:
    """What was seen of one run; times in seconds from its start."""

    wall: float | None = None
    first_job: float | None = None
    stopped_at: float | None = None
    started: int = 0
    peak_kib: int = 0
    timed_out: bool = False
    # None when the run was stopped before it exited by itself
    status: int | None = None
    # Bytes of the input, and how many the program had read at the end
    # (None when that could not be told)
    input_bytes: int = 0
    read_bytes: int | None = None


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def positive_int(text):
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"not a positive integer: {text}")
    return n


def positive_float(text):
    try:
        x = float(text)
    except ValueError:
        x = 0.0
    if not x > 0:
        raise argparse.ArgumentTypeError(f"not a positive number: {text}")
    return x


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Run one scenario of procq(1), GNU parallel or xargs -P "
        "and print its RESULT lines.")
    p.add_argument("impl", choices=IMPLS)
    p.add_argument("scenario", choices=list(SCENARIOS))
    p.add_argument("-n", type=positive_int, default=None,
                   help="jobs (cli_true, cli_prog), bytes (cli_output) or items "
                   "(cli_items)")
    p.add_argument("-j", "--jobs", type=positive_int,
                   default=os.sysconf("SC_NPROCESSORS_ONLN"),
                   help="jobs at once (default: online CPUs, %(default)s)")
    p.add_argument("--procq", metavar="PATH", default="procq",
                   help="procq(1) (default: %(default)s)")
    p.add_argument("--procq-libs", metavar="DIR[:...]", default="",
                   help="put first in LD_LIBRARY_PATH for procq(1) only: "
                   "the uninstalled library, when PATH is the program "
                   "behind libtool's wrapper script")
    p.add_argument("--shell", action="store_true",
                   help="procq(1): run the commands through the shell "
                   "(procq --shell), as GNU parallel does")
    p.add_argument("--parallel", metavar="PATH", default="parallel",
                   help="GNU parallel (default: %(default)s)")
    p.add_argument("--xargs", metavar="PATH", default="xargs",
                   help="xargs (default: %(default)s)")
    p.add_argument("--timeout", metavar="SECONDS", type=positive_float,
                   help="cap on the run (default: %s)" % ", ".join(
                       f"{s} {t:g}" for s, t in TIMEOUT_S.items()))
    p.add_argument("--settle", metavar="SECONDS", type=positive_float,
                   default=SETTLE_S,
                   help="cli_items: stop once the peak RSS has grown by "
                   "less than 1 MiB over SECONDS (default: %(default)s)")
    args = p.parse_args(argv)
    if args.n is None:
        args.n = SCENARIOS[args.scenario]
    if args.timeout is None:
        args.timeout = TIMEOUT_S[args.scenario]
    if args.impl == "xargs" and args.scenario in NOT_XARGS:
        p.error(f"xargs -P cannot run {args.scenario}")
    if args.shell and args.impl != "procq_cli":
        p.error("--shell is for procq_cli (the others always or never "
                "have a shell)")
    # A bare name would be looked up in PATH, not in the current directory.
    if os.sep not in args.procq and os.path.isfile(args.procq):
        args.procq = os.path.join(os.curdir, args.procq)
    return args


# ---------------------------------------------------------------- commands


def gnu_parallel_version(path):
    """The first line of GNU parallel's --version, or None if path is not
    GNU parallel (moreutils has a parallel too, with other options)."""
    try:
        r = subprocess.run([path, "--version"], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    first = r.stdout.splitlines()[:1]
    if r.returncode != 0 or not first or \
            not first[0].startswith("GNU parallel"):
        return None
    return first[0]


def job_command(args, started_fifo):
    """The command each implementation runs per item (the item added)."""
    if args.scenario == "cli_true":
        return ["true"]
    if args.scenario == "cli_prog":
        # A shell runs a word with a slash as a program.
        return [shutil.which("true") or "/bin/true"]
    if args.scenario == "cli_output":
        return ["sh", "-c", f"head -c {args.n} /dev/zero", "sh"]
    if args.scenario == "cli_pipe":
        return ["wc", "-l"]
    # A byte down a FIFO per job: the harness sees the first job start
    # the moment it does, and counts the others, without polling a file.
    return ["sh", "-c", f"printf x >>{shlex.quote(started_fifo)}", "sh"]


def impl_argv(args, command):
    jobs = str(args.jobs)
    # cli_pipe: blocks of 1 MiB (GNU parallel's default) to the jobs.
    pipe = ["--pipe", "--block", "1M"] if args.scenario == "cli_pipe" else []
    if args.impl == "procq_cli":
        # --no-shell: the words as given, as parallel's -q quotes them;
        # --shell: a shell for every job, as parallel always has.
        shell = ["--shell"] if args.shell else ["--no-shell"]
        return [args.procq, "-q", "-j", jobs] + shell + pipe + ["--"] + \
            command
    if args.impl == "parallel":
        # -q: the words of the command as given, not joined into a shell
        # line; --will-cite: no citation notice, stdin left to the items.
        return [args.parallel, "--will-cite", "-q", "-j", jobs] + pipe + \
            command
    return [args.xargs, "-P", jobs, "-n", "1"] + command


def impl_env(args):
    """The environment of the run: procq(1) may need its library's
    directory (the other programs must not get it)."""
    if args.impl != "procq_cli" or not args.procq_libs:
        return None
    env = dict(os.environ)
    old = env.get("LD_LIBRARY_PATH")
    env["LD_LIBRARY_PATH"] = args.procq_libs + (f":{old}" if old else "")
    return env


def items(args):
    return 1 if args.scenario == "cli_output" else args.n


def seq_bytes(n):
    """The size of seq N's output."""
    total, digits, low = 0, 1, 1
    while low <= n:
        high = min(n, 10**digits - 1)
        total += (high - low + 1) * (digits + 1)
        low, digits = 10**digits, digits + 1
    return total


# ---------------------------------------------------------------- running


def vm_hwm_kib(pid):
    """The process's peak RSS so far, 0 once it has gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def become_subreaper():
    """Make the processes a run leaves behind this one's children.

    A run that is stopped leaves jobs behind: GNU parallel puts each in a
    process group of its own, procq(1)'s workers are in theirs.  Orphaned,
    they come here, to be killed (kill_leftovers()) rather than load the
    machine during the next run.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise BenchError(f"prctl(PR_SET_CHILD_SUBREAPER): "
                         f"{os.strerror(err)}")


def child_pids():
    me, pids = os.getpid(), []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="ascii",
                      errors="replace") as f:
                # The name in parentheses may hold spaces: the parent's
                # pid is the second field after it.
                ppid = int(f.read().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == me:
            pids.append(int(name))
    return pids


def kill_leftovers():
    """Kill every descendant left, and reap it."""
    mine = os.getpgid(0)
    deadline = time.monotonic() + LEFTOVER_TIMEOUT_S
    while True:
        children = child_pids()
        if not children:
            return
        for pid in children:
            try:
                group = os.getpgid(pid)
                if group != mine:
                    os.killpg(group, signal.SIGKILL)
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        reap()
        if time.monotonic() > deadline:
            raise BenchError(f"{len(children)} process(es) the run left "
                             f"did not die in {LEFTOVER_TIMEOUT_S:g} s")
        time.sleep(0.01)


def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def watch(args, proc, start, fifo_fd):
    """Sample the run until it exits or it is time to stop it."""
    run = Run(input_bytes=seq_bytes(items(args)))
    # cli_items: (seconds, peak RSS) over the last --settle seconds, and
    # one before
    history = deque()
    poller = select.poll()
    pidfd = os.pidfd_open(proc.pid)
    poller.register(pidfd, select.POLLIN)
    if fifo_fd is not None:
        poller.register(fifo_fd, select.POLLIN)
    try:
        while True:
            ready = [fd for fd, _ in poller.poll(SAMPLE_MS)]
            if fifo_fd in ready:
                count_started(run, fifo_fd, start)
            run.peak_kib = max(run.peak_kib, vm_hwm_kib(proc.pid))
            status = proc.poll()
            now = time.monotonic() - start
            if fifo_fd is not None:
                history.append((now, run.peak_kib))
            if status is not None:
                if fifo_fd is not None:
                    count_started(run, fifo_fd, start)
                run.wall, run.status = now, status
                return run
            if now >= args.timeout:
                run.stopped_at = now
                run.timed_out = (fifo_fd is None or
                                 run.first_job is None)
                return run
            if run.first_job is not None and \
                    settled(history, now, args.settle):
                run.stopped_at = now
                return run
    finally:
        os.close(pidfd)


def settled(history, now, settle):
    """Whether the peak RSS has grown by less than SETTLE_KIB over the
    last settle seconds."""
    while len(history) > 1 and history[1][0] <= now - settle:
        history.popleft()
    then, peak_then = history[0]
    return then <= now - settle and \
        history[-1][1] - peak_then < SETTLE_KIB


def bytes_read(run, feeder, pipe_fd):
    """What seq has written less what still waits in the pipe."""
    if feeder.poll() is None:
        try:
            with open(f"/proc/{feeder.pid}/io", encoding="ascii") as f:
                written = next(int(line.split()[1]) for line in f
                               if line.startswith("wchar:"))
        except (OSError, ValueError, StopIteration):
            return None
    elif feeder.returncode == 0:
        written = run.input_bytes
    else:
        return None
    waiting = bytearray(4)
    fcntl.ioctl(pipe_fd, termios.FIONREAD, waiting)
    return written - int.from_bytes(waiting, sys.byteorder)


def count_started(run, fifo_fd, start):
    """Read what the jobs wrote so far: a byte each."""
    while True:
        try:
            got = len(os.read(fifo_fd, 65536))
        except BlockingIOError:
            return
        if got == 0:
            return
        if run.first_job is None:
            run.first_job = time.monotonic() - start
        run.started += got


def open_fifo(path):
    """Both ends, the write end held so that the read end never sees
    end-of-file between two jobs."""
    os.mkfifo(path, 0o600)
    reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        writer = os.open(path, os.O_WRONLY)
    except OSError:
        os.close(reader)
        raise
    return reader, writer


def run_once(args, tmp):
    """One run in a temporary directory, and its stderr's last lines."""
    fifo = os.path.join(tmp, "started")
    reader = writer = None
    if args.scenario == "cli_items":
        reader, writer = open_fifo(fifo)
    argv = impl_argv(args, job_command(args, fifo))
    # cli_pipe: the jobs' counts, to add up (the others' output is not
    # kept: a GiB of zeros)
    out = None
    try:
        with tempfile.TemporaryFile(dir=tmp) as err:
            if args.scenario == "cli_pipe":
                out = tempfile.TemporaryFile(dir=tmp)
            run = start_and_watch(args, argv, reader, err, out)
            err.seek(0)
            tail = err.read().decode(errors="replace").splitlines()
            counted = None
            if out is not None:
                out.seek(0)
                counted = out.read().decode(errors="replace")
    finally:
        if out is not None:
            out.close()
        for fd in (reader, writer):
            if fd is not None:
                os.close(fd)
    check(args, run, tail[-STDERR_TAIL_LINES:], counted)
    return run


def start_and_watch(args, argv, reader, err, out=None):
    """Start the run, its items on a pipe from seq, and watch it; then
    kill what is left of it.  The pipe's read end is kept here (and never
    read from) to see how much of the input waits in it.  The output
    goes to out, a file, or else to /dev/null."""
    feeder = subprocess.Popen(["seq", str(items(args))],
                              stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE,
                              start_new_session=True)
    try:
        start = time.monotonic()
        try:
            proc = subprocess.Popen(argv, stdin=feeder.stdout,
                                    stdout=out or subprocess.DEVNULL,
                                    stderr=err,
                                    env=impl_env(args),
                                    start_new_session=True)
        except OSError as e:
            raise BenchError(f"could not start {argv[0]}: {e.strerror}")
        try:
            run = watch(args, proc, start, reader)
            run.read_bytes = bytes_read(run, feeder, feeder.stdout.fileno())
        finally:
            kill_group(proc)
            proc.wait()
    finally:
        kill_group(feeder)
        feeder.wait()
        feeder.stdout.close()
        kill_leftovers()
    return run


def check(args, run, tail, counted=None):
    """A run that exited by itself did all it was given, and said so;
    cli_pipe: the lines its jobs counted (counted, their output) add up
    to its input's."""
    if run.status is None:
        return
    why = None
    if run.status < 0:
        why = f"killed by signal {signal.Signals(-run.status).name}"
    elif run.status > 0:
        why = f"exit status {run.status}"
    elif args.scenario == "cli_items" and run.started != args.n:
        why = f"{run.started} of {args.n} jobs started"
    elif counted is not None:
        try:
            lines = sum(int(w) for w in counted.split())
        except ValueError:
            lines = None
        if lines != args.n:
            why = (f"the jobs counted {lines} lines of {args.n}: "
                   f"{counted[:200]!r}")
    if why:
        raise BenchError(why + "".join("\n  " + t for t in tail))


# ---------------------------------------------------------------- results


def result(args, metric, value, note=""):
    text = "n/a" if value is None else f"{value:.3f}"
    line = f"RESULT {args.impl} {args.scenario} {metric} {text}"
    print(line + (f" # {note}" if note else ""), flush=True)


def report(args, run):
    peak_mib = run.peak_kib / 1024
    if args.scenario != "cli_items":
        if run.timed_out:
            result(args, "wall_s", None, f"timed out after {args.timeout:g} s")
        else:
            result(args, "wall_s", run.wall)
        result(args, "peak_rss_mib", peak_mib)
        return
    if run.first_job is None:
        note = f"no job started in {args.timeout:g} s"
        result(args, "first_job_ms", None, note)
        result(args, "jobs_per_s", None, note)
    else:
        result(args, "first_job_ms", run.first_job * 1000)
        end = run.stopped_at if run.stopped_at is not None else run.wall
        span = end - run.first_job
        if run.started > 1 and span > 0:
            result(args, "jobs_per_s", (run.started - 1) / span)
        else:
            result(args, "jobs_per_s", None, "one job started")
    result(args, "peak_rss_mib", peak_mib)
    if run.read_bytes is None:
        result(args, "read_pct", None, "seq's output not accounted for")
    else:
        result(args, "read_pct", 100 * run.read_bytes / run.input_bytes)
    end = run.stopped_at if run.stopped_at is not None else run.wall
    result(args, "watched_s", end)


def main(argv):
    args = parse_args(argv)
    if args.impl == "parallel" and not gnu_parallel_version(args.parallel):
        log(f"cli.py: {args.parallel} is not GNU parallel, or not found "
            "(Debian: parallel; moreutils has another parallel)")
        return 1
    try:
        become_subreaper()
        with tempfile.TemporaryDirectory(prefix="procq-cli-bench.") as tmp:
            run = run_once(args, tmp)
    except BenchError as e:
        log(f"cli.py: {args.impl} {args.scenario}: {e}")
        return 1
    report(args, run)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
