"""Which primitives of the rule table fail a third-order composition.

    python tools/third_order_audit.py                      # jacfwd(hessian(f))
    python tools/third_order_audit.py --mode rev3          # jacrev(jacrev(jacrev(f)))
    python tools/third_order_audit.py --mode vmap-fwd2     # vmap(jacfwd(jacfwd(f)))
    python tools/third_order_audit.py --mode vmap-fwd-hess --filter linalg
    python tools/third_order_audit.py --mode vmap-rev-vmap-rev --all --check
    python tools/third_order_audit.py --check              # numbers too

For the first row of each primitive in tests/test_rules.py (the rule table;
``--every`` takes every row) the composition is taken with respect to the
first argument. A row is listed as

- CRASH when an exception that is not one of adjoint's errors escaped (a
  traceback from inside the library);
- INSIDE when adjoint refused with a location inside its own package (the
  generated code of a rule calls a helper that has no rule of its own);
- refused (with ``--all``) when adjoint refused at the row's own line, with
  a message saying what to do;
- loop (with ``--all``, vmap modes) when a loop over the examples ran (it
  is exact, only slower; vmap warns unless the helper documents it);
- WRONG (with ``--check``) when the third derivative differs from central
  differences of ``hessian`` (the next-lower derivative, checked by the
  rule table itself), or, under vmap, from the per-example results
  (``vmap-rev-vmap-rev``: central differences of ``jacrev`` per example).

Kinks (abs, max, sort at ties) can make the differences disagree at a row's
points; read a WRONG row before believing it.
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
from adjoint import errors  # noqa: E402
from adjoint import runtime as rt  # noqa: E402
import test_rules as table  # noqa: E402

PACKAGE = str(ROOT / "adjoint")

MODES = {
    "fwd-hess": lambda f: adjoint.jacfwd(adjoint.hessian(f)),
    "rev3": lambda f: adjoint.jacrev(adjoint.jacrev(adjoint.jacrev(f))),
    "fwd3": lambda f: adjoint.jacfwd(adjoint.jacfwd(adjoint.jacfwd(f))),
    "vmap-fwd2": lambda f: adjoint.vmap(adjoint.jacfwd(adjoint.jacfwd(f)), in_dims=0),
    "vmap-fwd-hess": lambda f: adjoint.vmap(adjoint.jacfwd(adjoint.hessian(f)), in_dims=0),
    # vmap's own code differentiated and batched again (arguments with two batch axes; no --check)
    "vmap-rev-vmap-rev": lambda f: adjoint.vmap(adjoint.jacrev(adjoint.vmap(adjoint.jacrev(f)))),
}


def fresh(func):
    """A new function object with the same code: transformed anew."""
    if isinstance(func, types.FunctionType):
        return types.FunctionType(func.__code__, func.__globals__, func.__name__, func.__defaults__,
                                  func.__closure__)
    return func


def leaves(tree):
    if isinstance(tree, dict):
        return [leaf for value in tree.values() for leaf in leaves(value)]
    if isinstance(tree, (list, tuple)):
        return [leaf for item in tree for leaf in leaves(item)]
    return [np.asarray(tree, dtype=np.float64)]


def flat(tree):
    return np.concatenate([leaf.ravel() for leaf in leaves(tree)]) if leaves(tree) else np.zeros(0)


def third_by_differences(func, args, step=1e-5):
    """Central differences, along each element of the first argument, of
    adjoint's hessian of ``func`` (the first argument's block)."""
    hessian = adjoint.hessian(fresh(func))
    first = np.asarray(args[0], dtype=np.float64)
    columns = []
    for i in range(first.size):
        shift = np.zeros(first.size)
        shift[i] = step
        shift = shift.reshape(first.shape)
        up = flat(hessian(first + shift, *args[1:]))
        down = flat(hessian(first - shift, *args[1:]))
        columns.append((up - down) / (2 * step))
    return np.stack(columns, axis=-1).ravel() if columns else np.zeros(0)


def per_example_hessians(func, args, got, step=1e-5):
    """The reference of ``vmap(jacrev(vmap(jacrev(f))))`` (flat): for each
    outer example ``k`` and inner example ``j``, central differences of
    adjoint's ``jacrev`` of ``func`` (first order) along the first argument
    of that example, on the diagonal ``j == j'`` of the inner batch; zeros
    off it."""
    if isinstance(got, (tuple, list, dict)):
        raise TypeError("a result of several values (not compared)")
    jacobian = adjoint.jacrev(fresh(func))
    first = np.asarray(args[0], dtype=np.float64)
    outer, inner = first.shape[:2]
    x_shape = first.shape[2:]
    want = np.zeros(got.shape)
    for k in range(outer):
        for j in range(inner):
            rest = [np.asarray(a)[k, j] for a in args[1:]]
            x = first[k, j]
            columns = []
            for i in range(x.size):
                shift = np.zeros(x.size)
                shift[i] = step
                shift = shift.reshape(x_shape)
                columns.append((np.asarray(jacobian(x + shift, *rest)) - np.asarray(jacobian(x - shift, *rest)))
                               / (2 * step))
            block = np.stack(columns, axis=-1).reshape(got.shape[2:-1 - len(x_shape)] + x_shape)
            want[(k, j) + (slice(None),) * (block.ndim - len(x_shape)) + (j,)] = block
    return want.ravel()


def classify(exc):
    if not isinstance(exc, errors.AdjointError):
        return "CRASH"
    text = str(exc)
    return "INSIDE" if text.startswith(PACKAGE) or f"\n{PACKAGE}" in text else "refused"


def audit_row(row, mode, check):
    """(status, detail) of one row: status '' when it passed."""
    func = fresh(row.func)
    args = row.arguments()
    rng = np.random.default_rng(0)
    for _ in range(2 if mode == "vmap-rev-vmap-rev" else 1 if mode.startswith("vmap") else 0):
        args = [np.stack([a, a + 0.01 * rng.standard_normal(np.shape(a))]) for a in args]
    before = rt.PER_EXAMPLE_LOOPS[0]
    try:
        got = MODES[mode](func)(*args)
    except Exception as exc:  # noqa: BLE001 (reported)
        return classify(exc), f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
    loops = rt.PER_EXAMPLE_LOOPS[0] - before
    if not check:
        return ("loop", f"{loops} loop(s) over the examples") if loops else ("", "")
    try:
        if mode == "vmap-rev-vmap-rev":
            want = per_example_hessians(row.func, args, got)
        elif mode.startswith("vmap"):
            single = MODES[mode[len("vmap-"):]] if mode[len("vmap-"):] in MODES else (
                lambda f: adjoint.jacfwd(adjoint.jacfwd(f)))
            derivative = single(fresh(row.func))
            want = np.concatenate([flat(derivative(*[a[k] for a in args])) for k in range(2)])
        else:
            want = third_by_differences(row.func, args)
    except Exception as exc:  # noqa: BLE001 (the reference itself failed: reported, not judged)
        return "noref", f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
    have = flat(got)
    if have.shape != want.shape:
        return "WRONG", f"{have.size} numbers, the reference has {want.size}"
    scale = max(1.0, float(np.max(np.abs(want), initial=0.0)))
    error = float(np.max(np.abs(have - want), initial=0.0)) / scale
    if error > (1e-9 if mode.startswith("vmap") and mode != "vmap-rev-vmap-rev" else 1e-6 if mode.startswith("vmap") else 1e-4):
        return "WRONG", f"relative error {error:.2e}"
    return ("loop", f"{loops} loop(s) over the examples") if loops else ("", "")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=sorted(MODES), default="fwd-hess")
    parser.add_argument("--filter", default="", help="only rows whose id contains this")
    parser.add_argument("--every", action="store_true", help="every row, not the first of each primitive")
    parser.add_argument("--check", action="store_true", help="compare the numbers with a reference")
    parser.add_argument("--all", action="store_true", help="list the refused rows too")
    options = parser.parse_args()
    warnings.simplefilter("ignore")
    seen, listed, counts = set(), 0, {}
    start = time.perf_counter()
    for row in table.ROWS:
        if row.skip or options.filter not in row.id or (not options.every and id(row.prim) in seen):
            continue
        if not row.shapes and row.values is None:
            continue
        seen.add(id(row.prim))
        status, detail = audit_row(row, options.mode, options.check)
        counts[status or "ok"] = counts.get(status or "ok", 0) + 1
        if status and (status not in ("refused", "loop") or options.all):
            listed += 1
            print(f"{status:8s}{row.id}: {detail}", flush=True)
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    print(f"{options.mode}: {len(seen)} primitives ({summary}), {time.perf_counter() - start:.0f} s")
    return 1 if any(counts.get(s) for s in ("CRASH", "INSIDE", "WRONG")) else 0


if __name__ == "__main__":
    sys.exit(main())
