"""Which primitives of the rule table run a per-example loop under vmap.

    python tools/vmap_audit.py                  # vmap(f), one row per primitive
    python tools/vmap_audit.py --mode jacrev    # vmap(jacrev(f))
    python tools/vmap_audit.py --mode hessian   # vmap(hessian(f))
    python tools/vmap_audit.py --mode jacrev --all --filter linalg

For each row of tests/test_rules.py (the rule table) the function runs under
the transform on a batch of two examples. A row is listed when a loop over
the examples ran (``rt.PER_EXAMPLE_LOOPS`` moved): SILENT when no warning
announced it (a contract violation: tests/test_vmap_audit.py keeps ``vmap``
free of them), warned when vmap's warning named the construct and its line
(with ``--all``), ERROR when the transform raised.
"""
import argparse
import pathlib
import sys
import time
import types
import warnings

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import adjoint  # noqa: E402
from adjoint import runtime as rt  # noqa: E402
import test_rules as table  # noqa: E402

TRANSFORMS = {
    "vmap": lambda f, n: adjoint.vmap(f),
    "jacrev": lambda f, n: adjoint.vmap(adjoint.jacrev(f, argnums=tuple(range(n)))),
    "jacfwd": lambda f, n: adjoint.vmap(adjoint.jacfwd(f, argnums=tuple(range(n)))),
    "hessian": lambda f, n: adjoint.vmap(adjoint.hessian(f)),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=sorted(TRANSFORMS), default="vmap")
    parser.add_argument("--all", action="store_true", help="list the warned loops too")
    parser.add_argument("--filter", default="", help="only rows whose id contains this")
    options = parser.parse_args()
    seen, silent = set(), 0
    start = time.perf_counter()
    for row in table.ROWS:
        if row.skip or options.filter not in row.id or (not options.filter and id(row.prim) in seen):
            continue
        seen.add(id(row.prim))
        func = row.func
        if isinstance(func, types.FunctionType):  # a fresh function object: transformed anew
            func = types.FunctionType(func.__code__, func.__globals__, func.__name__, func.__defaults__,
                                      func.__closure__)
        rng = np.random.default_rng(0)
        args = [np.stack([a, a + 0.01 * rng.standard_normal(np.shape(a))]) for a in row.arguments()]
        before = rt.PER_EXAMPLE_LOOPS[0]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                TRANSFORMS[options.mode](func, len(args))(*args)
                error = None
            except Exception as exc:  # noqa: BLE001 (reported)
                error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
        loops = rt.PER_EXAMPLE_LOOPS[0] - before
        warned = [str(w.message) for w in caught if "once per example" in str(w.message)]
        if error:
            print(f"ERROR   {row.id}: {error}")
        elif loops and not warned:
            silent += 1
            print(f"SILENT  {row.id}: {loops} per-example loop(s), no warning")
        elif loops and options.all:
            print(f"warned  {row.id}: " + "; ".join(w.split(": ", 1)[-1][:90] for w in dict.fromkeys(warned)))
    print(f"{len(seen)} rows, {silent} silent, {time.perf_counter() - start:.1f} s")
    return 1 if silent else 0


if __name__ == "__main__":
    sys.exit(main())
