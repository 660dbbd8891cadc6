#!/usr/bin/python3
"""procq's peers on procq's benchmark work.

    peers.py PEER SCENARIO [-n N]

Every result is one line on stdout:

    RESULT <peer> <scenario> <metric> <value>[ # <note>]

where <value> is a number or n/a (the note then says why).  Progress and
diagnostics go to stderr.  The exit status is nonzero only when the
benchmark itself broke (for instance a wrong result in the throughput run).
"""

import argparse
import collections
import concurrent.futures as cf
import faulthandler
import gc
import math
import multiprocessing
import os
import select
import signal
import statistics
import sys
import threading
import time

try:
    import pebble
except ImportError:
    # Only the pebble peer needs it; bench/report.py skips that peer when
    # it is missing, and the others run without it.
    pebble = None

# fork is the default on Linux up to Python 3.13 and what procq does too;
# it is pinned so that interpreters with another default (forkserver from
# 3.14 on) measure the same thing.
CTX = multiprocessing.get_context("fork")

WORKERS = 2
MAP_CHUNKSIZE = 256

# Bounds that keep a misbehaving peer from hanging the benchmark.
RESULT_TIMEOUT = 30.0
RUN_TIMEOUT = 120.0
ROUND_TIMEOUT = 5.0
LOST_AFTER = 2.0
CRASH_LIMIT = 58.0
SCALE_LIMIT = 50.0
MEMORY_BUDGET = 45.0
WATCHDOG = 240

# The scaling scenario's pools and the CPU time each of its tasks burns,
# as bench/procq-bench.c has them.
SCALING_WORKERS = (1, 2, 4, 8)
BURN_NS = 100_000
# The large_values scenario: the size of an argument and of a result, and
# the tasks in flight per worker.
LARGE_SIZE = 1 << 20
LARGE_WINDOW = 4

PEERS = ("pool_submit", "pool_map", "mp_apply_async", "pebble")
SCENARIOS = {
    "throughput": 400000,
    "latency": 10000,
    "crash": 10000,
    "memory": 1000000,
    "respawn": 100,
    "cancel": 100,
    "scale": None,
    "scaling": 10000,
    "large_values": 200,
}


class BenchError(Exception):
    pass


# Set in the workers by the pool initializer, for the scenarios that need
# to hear from inside a task.
_crash_stamp = None
_started = None


def init_worker(crash_stamp=None, started=None):
    global _crash_stamp, _started
    _crash_stamp = crash_stamp
    _started = started


def double(x):
    return 2 * x


def crash(x):
    if _crash_stamp is not None:
        _crash_stamp.value = time.monotonic_ns()
    os.kill(os.getpid(), signal.SIGSEGV)


def sleeper(s):
    if _started is not None:
        _started.send(os.getpid())
    time.sleep(s)


def burn(x):
    """Returns x after burning BURN_NS of the thread's CPU time (a busy
    loop, not a sleep: the worker holds its core as real work would)."""
    end = time.thread_time_ns() + BURN_NS
    while time.thread_time_ns() < end:
        pass
    return x


def echo(data):
    return data


def double_or_crash(x):
    """The crash mix as a single function, for map."""
    if x % 10 == 9:
        crash(x)
    return 2 * x


def is_crash(i):
    return i % 10 == 9


# Peers: the same small interface over four different APIs.

class Peer:
    name = None

    def __init__(self, workers=WORKERS, initializer=None, initargs=()):
        self.workers = workers
        self.open(initializer, initargs)

    def warm(self):
        """Runs a few rounds of tasks so that starting the workers stays
        out of the measurements."""
        for _ in range(5):
            hs = [self.submit(double, i) for i in range(4 * self.workers)]
            for i, h in enumerate(hs):
                if self.result(h) != 2 * i:
                    raise BenchError("wrong result while warming up")

    def call(self, fn, x):
        return self.result(self.submit(fn, x))

    def run_all(self, fn, xs):
        hs = [self.submit(fn, x) for x in xs]
        return [self.result(h) for h in hs]

    def hold_all(self, fn, n, budget):
        """Submits fn(0) ... fn(n - 1) without waiting for them; a peer too
        slow to take them all within the budget gets fewer."""
        held = []
        t0 = time.perf_counter()
        while len(held) < n and time.perf_counter() - t0 < budget:
            start = len(held)
            held.extend(self.submit(fn, i)
                        for i in range(start, min(n, start + 4096)))
        return held, len(held)

    def count_finished(self, handles):
        return sum(1 for h in handles if h.done())


class FuturesPeer(Peer):
    def result(self, h, timeout=RESULT_TIMEOUT):
        return h.result(timeout)

    def submit_watched(self, fn, x, on_result, on_error):
        def done(f):
            e = f.exception()
            if e is None:
                on_result(f.result())
            else:
                on_error(e)
        h = self.submit(fn, x)
        h.add_done_callback(done)
        return h


class PoolSubmit(FuturesPeer):
    name = "pool_submit"

    def open(self, initializer, initargs):
        self.ex = cf.ProcessPoolExecutor(
            max_workers=self.workers, mp_context=CTX,
            initializer=initializer, initargs=initargs)

    def submit(self, fn, x):
        return self.ex.submit(fn, x)

    def close(self):
        self.ex.shutdown(wait=True, cancel_futures=True)


class PoolMap(PoolSubmit):
    name = "pool_map"

    def call(self, fn, x):
        return next(self.ex.map(fn, (x,), timeout=RESULT_TIMEOUT,
                                chunksize=MAP_CHUNKSIZE))

    def run_all(self, fn, xs):
        return list(self.ex.map(fn, xs, timeout=RUN_TIMEOUT,
                                chunksize=MAP_CHUNKSIZE))

    def hold_all(self, fn, n, budget):
        # map submits every chunk before it returns the iterator.
        return self.ex.map(fn, range(n), chunksize=MAP_CHUNKSIZE), n

    def count_finished(self, handles):
        return None


class MpApplyAsync(Peer):
    name = "mp_apply_async"

    def open(self, initializer, initargs):
        self.pool = CTX.Pool(self.workers, initializer, initargs)

    def submit(self, fn, x):
        return self.pool.apply_async(fn, (x,))

    def submit_watched(self, fn, x, on_result, on_error):
        return self.pool.apply_async(fn, (x,), callback=on_result,
                                     error_callback=on_error)

    def result(self, h, timeout=RESULT_TIMEOUT):
        return h.get(timeout)

    def count_finished(self, handles):
        return sum(1 for h in handles if h.ready())

    def close(self):
        self.pool.terminate()
        self.pool.join()


class Pebble(FuturesPeer):
    name = "pebble"

    def open(self, initializer, initargs):
        if pebble is None:
            raise BenchError("pebble is not installed (Debian: "
                             "python3-pebble)")
        self.pool = pebble.ProcessPool(
            max_workers=self.workers, initializer=initializer,
            initargs=initargs, context=CTX)

    def submit(self, fn, x):
        return self.pool.schedule(fn, args=(x,))

    def close(self):
        self.pool.stop()
        self.pool.join()


PEER_CLASSES = {c.name: c for c in (PoolSubmit, PoolMap, MpApplyAsync, Pebble)}


# Helpers

def result(peer, scenario, metric, value, note=None):
    if value is None:
        text = "n/a"
    elif isinstance(value, int):
        text = str(value)
    else:
        text = "%.2f" % value
    line = "RESULT %s %s %s %s" % (peer, scenario, metric, text)
    if note:
        line += " # " + note
    print(line, flush=True)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def open_peer(name, warm=True, **kw):
    peer = PEER_CLASSES[name](**kw)
    if warm:
        peer.warm()
    return peer


def percentile(sorted_values, pct):
    """Nearest rank, as bench/pingpong.c computes it."""
    rank = math.ceil(len(sorted_values) * pct / 100)
    return sorted_values[max(rank, 1) - 1]


def rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise BenchError("no VmRSS in /proc/self/status")


def timed_run(peer, n):
    xs = range(n)
    t0 = time.perf_counter()
    results = peer.run_all(double, xs)
    elapsed = time.perf_counter() - t0
    if len(results) != n or any(r != 2 * i for i, r in enumerate(results)):
        raise BenchError("wrong results from %s" % peer.name)
    return elapsed


# Scenarios

def throughput(name, n):
    peer = open_peer(name)
    try:
        elapsed = timed_run(peer, n)
    finally:
        peer.close()
    log("%s: %d tasks in %.2f s" % (name, n, elapsed))
    result(name, "throughput", "tasks_per_s", round(n / elapsed))


def latency(name, n):
    peer = open_peer(name)
    note = "one-item map per round trip" if name == "pool_map" else None
    try:
        for i in range(200):
            peer.call(double, i)
        rtt = []
        for i in range(n):
            t0 = time.perf_counter_ns()
            r = peer.call(double, i)
            rtt.append(time.perf_counter_ns() - t0)
            if r != 2 * i:
                raise BenchError("wrong result from %s" % name)
    finally:
        peer.close()
    rtt.sort()
    result(name, "latency", "p50_us", percentile(rtt, 50) / 1e3, note)
    result(name, "latency", "p99_us", percentile(rtt, 99) / 1e3, note)


class Outcomes:
    """Final outcomes of tasks, as the peer's callbacks report them."""

    def __init__(self, n):
        self.n = n
        self.cond = threading.Condition()
        self.succeeded = 0
        self.wrong = 0
        self.failed = 0
        self.errors = collections.Counter()
        self.last = time.monotonic()

    def _final(self):
        self.last = time.monotonic()
        if self.succeeded + self.wrong + self.failed == self.n:
            self.cond.notify_all()

    def on_result(self, i, value):
        with self.cond:
            if value == 2 * i:
                self.succeeded += 1
            else:
                self.wrong += 1
            self._final()

    def on_error(self, error):
        with self.cond:
            self.failed += 1
            self.errors[type(error).__name__] += 1
            self._final()

    def refuse(self, count):
        with self.cond:
            self.failed += count
            self._final()

    def wait(self, hard_deadline):
        """Waits until every task is final, until LOST_AFTER seconds passed
        without any new outcome ("stalled"), or until the hard deadline
        ("limit"); returns None in the first case, else the reason."""
        with self.cond:
            while self.succeeded + self.wrong + self.failed < self.n:
                now = time.monotonic()
                if now >= hard_deadline:
                    return "limit"
                if now >= self.last + LOST_AFTER:
                    return "stalled"
                self.cond.wait(min(self.last + LOST_AFTER, hard_deadline)
                               - now)
            return None

    def lost(self):
        with self.cond:
            return self.n - self.succeeded - self.failed


def crash_mix_map(peer, n):
    """map stops at the first failure: all that is known is how many
    results came before it."""
    succeeded = wrong = 0
    error = None
    t0 = time.perf_counter()
    try:
        it = peer.ex.map(double_or_crash, range(n),
                         timeout=RESULT_TIMEOUT, chunksize=MAP_CHUNKSIZE)
        for i, r in enumerate(it):
            if r == 2 * i:
                succeeded += 1
            else:
                wrong += 1
    except Exception as e:
        error = e
    elapsed = time.perf_counter() - t0
    if error is None:
        return succeeded, 0, wrong, elapsed, "map finished without an error"
    failed = n - succeeded - wrong
    note = ("map raised %s after %d results; the pool is broken, so every "
            "task from there on counts as failed"
            % (type(error).__name__, succeeded + wrong))
    return succeeded, failed, wrong, elapsed, note


def crash_mix(peer, n):
    outcomes = Outcomes(n)
    refused = None
    t0 = time.perf_counter()
    for i in range(n):
        try:
            peer.submit_watched(
                crash if is_crash(i) else double, i,
                lambda v, i=i: outcomes.on_result(i, v), outcomes.on_error)
        except Exception as e:
            # A broken pool refuses new work: the rest fails at once.
            refused = "%d refused at submit with %s" % (n - i,
                                                        type(e).__name__)
            outcomes.refuse(n - i)
            break
    stop = outcomes.wait(time.monotonic() + CRASH_LIMIT)
    elapsed = time.perf_counter() - t0
    errors = ", ".join("%s %d" % kv for kv in outcomes.errors.most_common())
    notes = []
    if errors:
        notes.append("failures: " + errors)
    if refused:
        notes.append(refused)
    if stop == "stalled":
        notes.append("%d tasks never reported; declared lost %.0f s after "
                     "the last outcome, and the rate includes that wait"
                     % (outcomes.lost(), LOST_AFTER))
    elif stop == "limit":
        notes.append("%d tasks still unfinished at the %.0f s limit, counted "
                     "lost; a smaller -n avoids that"
                     % (outcomes.lost(), CRASH_LIMIT))
    return (outcomes.succeeded, outcomes.failed, n - outcomes.succeeded -
            outcomes.failed, elapsed, "; ".join(notes))


def crash_scenario(name, n):
    peer = open_peer(name)
    try:
        if name == "pool_map":
            succeeded, failed, lost, elapsed, note = crash_mix_map(peer, n)
        else:
            succeeded, failed, lost, elapsed, note = crash_mix(peer, n)
    finally:
        peer.close()
    if name in ("pool_submit", "pool_map"):
        note = "BrokenProcessPool at the first crash; " + note
    log("%s: crash mix of %d tasks in %.2f s" % (name, n, elapsed))
    result(name, "crash", "succeeded", succeeded)
    result(name, "crash", "failed", failed)
    result(name, "crash", "lost", lost)
    result(name, "crash", "tasks_per_s", round(n / elapsed), note or None)


def memory(name, n):
    peer = open_peer(name)
    held = None
    count = 0
    elapsed = 0.0
    finished = None
    try:
        gc.collect()
        before = rss_bytes()
        t0 = time.perf_counter()
        held, count = peer.hold_all(double, n, MEMORY_BUDGET)
        elapsed = time.perf_counter() - t0
        after = rss_bytes()
        finished = peer.count_finished(held)
    finally:
        log("%s: submitted %d tasks in %.2f s; tearing down"
            % (name, count, elapsed))
        if name == "pebble" and held:
            for h in held:
                h.cancel()
        peer.close()
    del held
    arg_bytes = sum(map(sys.getsizeof, range(count))) / count
    note = "N=%d submitted in %.1f s" % (count, elapsed)
    if finished is None:
        note += ("; map holds one future per chunk of %d tasks"
                 % MAP_CHUNKSIZE)
    else:
        note += ("; the workers run tasks meanwhile: %d had finished, and "
                 "the delta includes their results" % finished)
    if count < n:
        note += "; stopped at the %.0f s budget" % MEMORY_BUDGET
    result(name, "memory", "bytes_per_task", (after - before) / count, note)
    result(name, "memory", "arg_bytes", arg_bytes,
           "mean sys.getsizeof of the int argument: held as a Python object "
           "until sent, not serialized")


def respawn(name, n):
    if name in ("pool_submit", "pool_map"):
        result(name, "respawn", "respawn_us", None,
               "a crashed worker breaks the whole pool (BrokenProcessPool); "
               "it is never replaced")
        return
    if name == "pebble":
        respawn_pebble(n)
    else:
        respawn_mp(n)


def respawn_pebble(n):
    peer = open_peer("pebble", workers=1)
    samples = []
    unreported = 0
    try:
        for _ in range(n):
            try:
                error = peer.submit(crash, 0).exception(ROUND_TIMEOUT)
            except (cf.TimeoutError, RuntimeError) as e:
                # pebble can miss a worker that dies right after taking a
                # task, and then loses the task or the whole pool: a new
                # pool is the only way on.
                log("pebble: crash not reported (%s); new pool"
                    % (type(e).__name__,))
                unreported += 1
                peer.close()
                peer = open_peer("pebble", workers=1)
                continue
            if not isinstance(error, pebble.ProcessExpired):
                raise BenchError("crash reported as %r" % (error,))
            t0 = time.perf_counter_ns()
            if peer.call(double, 1) != 2:
                raise BenchError("wrong result")
            samples.append(time.perf_counter_ns() - t0)
    finally:
        peer.close()
    note = "1 worker; from the ProcessExpired report to the next result"
    if unreported:
        note += ("; %d of %d crashes never reported (pool replaced)"
                 % (unreported, n))
    if not samples:
        result("pebble", "respawn", "respawn_us", None, note)
        return
    result("pebble", "respawn", "respawn_us",
           statistics.median(samples) / 1e3, note)


def respawn_mp(n):
    # The pool never reports the crash, so the clock starts in the worker,
    # just before it kills itself (CLOCK_MONOTONIC is system-wide).
    stamp = CTX.RawValue("q", 0)
    peer = open_peer("mp_apply_async", workers=1,
                     initializer=init_worker, initargs=(stamp,))
    samples = []
    try:
        for _ in range(n):
            stamp.value = 0
            peer.submit(crash, 0)
            if peer.call(double, 1) != 2:
                raise BenchError("wrong result")
            end = time.monotonic_ns()
            if stamp.value == 0:
                raise BenchError("the crash task did not run")
            samples.append(end - stamp.value)
    finally:
        peer.close()
    result("mp_apply_async", "respawn", "respawn_us",
           statistics.median(samples) / 1e3,
           "1 worker; the crash is never reported, so timed from the "
           "worker's last moment to the next result (includes noticing "
           "the death)")


def cancel(name, n):
    if name in ("pool_submit", "pool_map"):
        result(name, "cancel", "cancel_us", None,
               "a running task cannot be cancelled (Future.cancel() "
               "returns False)")
        return
    if name == "mp_apply_async":
        result(name, "cancel", "cancel_us", None,
               "AsyncResult has no cancel; only terminating the whole pool "
               "stops a running task")
        return
    reader, writer = CTX.Pipe(duplex=False)
    peer = open_peer("pebble", workers=1, initializer=init_worker,
                     initargs=(None, writer))
    exits = []
    dones = []
    try:
        for _ in range(n):
            f = peer.submit(sleeper, 10)
            if not reader.poll(RESULT_TIMEOUT):
                raise BenchError("the sleeper did not start")
            pidfd = os.pidfd_open(reader.recv())
            try:
                t0 = time.perf_counter_ns()
                f.cancel()
                if not f.done():
                    cf.wait([f], RESULT_TIMEOUT)
                t1 = time.perf_counter_ns()
                # The future is done at once; the task stops only when
                # the worker running it is gone.
                ready, _, _ = select.select([pidfd], [], [], RESULT_TIMEOUT)
                t2 = time.perf_counter_ns()
            finally:
                os.close(pidfd)
            if not ready or not f.cancelled():
                raise BenchError("the sleeper was not cancelled")
            dones.append(t1 - t0)
            exits.append(t2 - t0)
    finally:
        peer.close()
    result("pebble", "cancel", "cancel_us", statistics.median(exits) / 1e3,
           "1 worker; until the worker running the task exited; "
           "future.done() is already true after %.0f us"
           % (statistics.median(dones) / 1e3))


def scale(name, _n):
    peer = open_peer(name)
    last = None
    try:
        for n, metric in ((10000, "us_per_task_10k"),
                          (100000, "us_per_task_100k"),
                          (1000000, "us_per_task_1m")):
            if last is not None:
                projected = last * n / (n // 10)
                if projected > SCALE_LIMIT:
                    result(name, "scale", metric, None,
                           "projected %.0f s from the smaller run, over "
                           "the %.0f s limit" % (projected, SCALE_LIMIT))
                    continue
            last = timed_run(peer, n)
            log("%s: %d tasks in %.2f s" % (name, n, last))
            result(name, "scale", metric, last / n * 1e6)
    finally:
        peer.close()


def scaling(name, n):
    for workers in SCALING_WORKERS:
        peer = open_peer(name, workers=workers)
        try:
            t0 = time.perf_counter()
            results = peer.run_all(burn, range(n))
            elapsed = time.perf_counter() - t0
        finally:
            peer.close()
        if results != list(range(n)):
            raise BenchError("wrong results from %s" % name)
        log("%s: %d tasks of %d us on %d workers in %.2f s"
            % (name, n, BURN_NS // 1000, workers, elapsed))
        note = ("map, chunksize %d" % MAP_CHUNKSIZE
                if name == "pool_map" else None)
        result(name, "scaling", "tasks_per_s_w%d" % workers,
               round(n / elapsed), note)


def large_values(name, n):
    """LARGE_SIZE arguments echoed back, LARGE_WINDOW tasks in flight per
    worker: MB (10^6 bytes) a second of arguments and results together.
    Each argument is a new bytes object, as procq packs each one anew."""
    pattern = bytes((i * 7 + 1) & 0xff for i in range(256))
    payload = pattern * (LARGE_SIZE // len(pattern))
    window = collections.deque()
    peer = open_peer(name)
    try:
        t0 = time.perf_counter()
        for i in range(n + LARGE_WINDOW * peer.workers):
            if window and (i >= n or
                           len(window) == LARGE_WINDOW * peer.workers):
                h, sent = window.popleft()
                if peer.result(h) != sent:
                    raise BenchError("wrong result from %s" % name)
            if i < n:
                data = i.to_bytes(8, "little") + payload[8:]
                window.append((peer.submit(echo, data), data))
        elapsed = time.perf_counter() - t0
    finally:
        peer.close()
    log("%s: %d values of %d bytes each way in %.2f s"
        % (name, n, LARGE_SIZE, elapsed))
    result(name, "large_values", "mb_per_s",
           2 * n * LARGE_SIZE / 1e6 / elapsed)


RUNNERS = {
    "throughput": throughput,
    "latency": latency,
    "crash": crash_scenario,
    "memory": memory,
    "respawn": respawn,
    "cancel": cancel,
    "scale": scale,
    "scaling": scaling,
    "large_values": large_values,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("peer", choices=PEERS)
    ap.add_argument("scenario", choices=list(SCENARIOS))
    ap.add_argument("-n", type=int, default=None,
                    help="number of tasks (rounds for respawn and cancel)")
    args = ap.parse_args()
    n = args.n if args.n is not None else SCENARIOS[args.scenario]
    if n is not None and n <= 0:
        ap.error("-n must be positive")

    # The last resort against a hung peer: tracebacks and exit status 1.
    faulthandler.dump_traceback_later(WATCHDOG, exit=True)
    try:
        RUNNERS[args.scenario](args.peer, n)
    except BenchError as e:
        log("peers.py: %s %s: %s" % (args.peer, args.scenario, e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
