"""Speed-up of ``jacrev(..., chunk_size=k, executor=ThreadPoolExecutor(w))``
over the serial chunk loop, for a Jacobian whose chunks each take tens of
milliseconds (a 5-layer tanh network of width 600, 150 rows per chunk).

BLAS runs on one thread (as in tools/bench.py), so the only parallelism is
the executor's: NumPy releases the GIL inside its kernels, and the chunks of
a thread pool run at the same time. Prints the median time of each and the
ratio. The methods take turns call by call, so that they see the same load
on a shared machine; run it more than once and quote what you see.

    python tools/bench_executor.py [--budget SECONDS] [--workers N] [--processes]
"""
import os

# Before NumPy is imported: its BLAS thread pool is sized at import.
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import concurrent.futures  # noqa: E402
import contextlib  # noqa: E402
import multiprocessing  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import adjoint  # noqa: E402

WIDTH = 600
CHUNK = 150
_rng = np.random.default_rng(0)
WEIGHTS = [_rng.standard_normal((WIDTH, WIDTH)) / np.sqrt(WIDTH) for _ in range(5)]
W0, W1, W2, W3, W4 = WEIGHTS


def network(x):
    h = np.tanh(W0 @ x)
    h = np.tanh(W1 @ h)
    h = np.tanh(W2 @ h)
    h = np.tanh(W3 @ h)
    return np.tanh(W4 @ h)


def median_seconds(calls, budget):
    """Median seconds of each of ``calls`` (name -> function), the calls
    taking turns so that all see the same load on a shared machine."""
    for call in calls.values():
        call()  # warm-up: transform, pools started
    times = {name: [] for name in calls}
    end = time.perf_counter() + budget * len(calls)
    while min(len(t) for t in times.values()) < 5 or time.perf_counter() < end:
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: (statistics.median(t), len(t)) for name, t in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=2.0,
                        help="about this many seconds of calls per method (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="threads in the pool (default 2)")
    parser.add_argument("--processes", action="store_true", help="also a ProcessPoolExecutor (code as source)")
    args = parser.parse_args(argv)
    x = np.linspace(-1.0, 1.0, WIDTH)
    serial_fn = adjoint.jacrev(network, chunk_size=CHUNK)
    reference = serial_fn(x)
    print(f"jacrev of a 5-layer tanh network, {WIDTH} x {WIDTH} Jacobian, {WIDTH // CHUNK} chunks of {CHUNK} rows, "
          f"{os.cpu_count()} CPUs, BLAS on one thread")
    calls = {"serial": lambda: serial_fn(x)}
    with contextlib.ExitStack() as stack:
        pool = stack.enter_context(concurrent.futures.ThreadPoolExecutor(args.workers))
        threaded_fn = adjoint.jacrev(network, chunk_size=CHUNK, executor=pool)
        assert np.array_equal(threaded_fn(x), reference), "the thread pool's Jacobian differs from the serial one"
        calls[f"ThreadPoolExecutor({args.workers})"] = lambda: threaded_fn(x)
        if args.processes:
            context = multiprocessing.get_context("spawn")
            processes = stack.enter_context(concurrent.futures.ProcessPoolExecutor(args.workers, mp_context=context))
            process_fn = adjoint.jacrev(network, chunk_size=CHUNK, executor=processes)
            np.testing.assert_allclose(process_fn(x), reference, rtol=1e-12, atol=1e-15)
            calls[f"ProcessPoolExecutor({args.workers})"] = lambda: process_fn(x)
        medians = median_seconds(calls, args.budget)
    serial = medians["serial"][0]
    print(f"  per chunk (serial median / chunks): {serial / (WIDTH // CHUNK) * 1e3:.1f} ms")
    for name, (seconds, n) in medians.items():
        print(f"  {name:<24} median {seconds * 1e3:8.1f} ms  ({n} calls)  speed-up {serial / seconds:4.2f}x")

if __name__ == "__main__":
    main()
