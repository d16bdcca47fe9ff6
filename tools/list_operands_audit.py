"""Rule-table primitives called with a Python list in place of an array.

    python tools/list_operands_audit.py                 # jacrev, jacfwd, hessian
    python tools/list_operands_audit.py --vmap          # vmap(jacrev) too
    python tools/list_operands_audit.py --filter power --all

For the first row of each primitive in tests/test_rules.py (the rule table)
whose function is a one-line lambda, the lambda's body is written out as a
function of its own with the first argument of rank 1 or 2 replaced by a
Python list literal (a nested list for rank 2) of differentiated scalars,
one parameter per element, the other arguments kept as arrays:

    lambda x, y: np.power(x, y)      (x of shape (3,))
    def f(x_0, x_1, x_2, y):
        return np.power([x_0, x_1, x_2], y)

jacrev, jacfwd and hessian with respect to every parameter (and, with
``--vmap``, vmap(jacrev) over two examples) are compared with central
differences of the plain function (second differences for the Hessian),
which adjoint does not take part in. A row is listed as CRASH (an exception
that is not one of adjoint's errors), INSIDE (refused at a line inside the
library), refused (with ``--all``: refused at the user's line), or WRONG.
"""
import argparse
import ast
import inspect
import itertools
import pathlib
import sys
import tempfile
import textwrap
import time
import traceback
import types
import warnings

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import adjoint  # noqa: E402
from adjoint import errors  # noqa: E402
from adjoint import runtime as rt  # noqa: E402

PACKAGE = str(ROOT / "adjoint")
TRACE = []
_FILES = tempfile.mkdtemp(prefix="adjoint-list-audit-")


def lambda_node(func):
    """The ast of the lambda ``func`` is (found in its source line by its code), or None."""
    if not isinstance(func, types.FunctionType) or func.__name__ != "<lambda>":
        return None
    try:
        lines, _ = inspect.getsourcelines(func)
    except (OSError, TypeError):
        return None
    text = textwrap.dedent("".join(lines))
    for attempt in (text, f"({text.strip().rstrip(',')})", f"[{text.strip()}]"):
        try:
            tree = ast.parse(attempt)
            break
        except SyntaxError:
            continue
    else:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Lambda):
            code = compile(ast.Expression(body=node), "<x>", "eval")
            inner = next((c for c in code.co_consts if isinstance(c, types.CodeType)), None)
            if inner is not None and inner.co_code == func.__code__.co_code and inner.co_consts == (
                    func.__code__.co_consts) and inner.co_names == func.__code__.co_names:
                return node
    return None


class _Replace(ast.NodeTransformer):
    def __init__(self, name, literal):
        self.name = name
        self.literal = literal

    def visit_Name(self, node):
        return self.literal if node.id == self.name else node


def list_literal(prefix, shape):
    """``([names], ast list)`` of a (nested) list of scalars of ``shape``."""
    names = [f"{prefix}_{'_'.join(map(str, index))}" for index in itertools.product(*map(range, shape))]
    if len(shape) == 1:
        return names, ast.List(elts=[ast.Name(id=n, ctx=ast.Load()) for n in names], ctx=ast.Load())
    rows = [ast.List(elts=[ast.Name(id=names[i * shape[1] + j], ctx=ast.Load()) for j in range(shape[1])],
                     ctx=ast.Load()) for i in range(shape[0])]
    return names, ast.List(elts=rows, ctx=ast.Load())


def build(row, counter):
    """``(function of scalars and arrays, its arguments)`` for ``row``, or None."""
    node = lambda_node(row.func)
    args = row.arguments()
    if node is None or node.args.vararg or node.args.kwarg or len(node.args.args) != len(args):
        return None
    params = [a.arg for a in node.args.args]
    position = next((i for i, a in enumerate(args) if a.ndim in (1, 2) and 0 < a.size <= 16), None)
    if position is None:
        return None
    names, literal = list_literal(params[position], args[position].shape)
    body = _Replace(params[position], literal).visit(node.body)
    new_params = params[:position] + names + params[position + 1:]
    name = f"listed_{counter}"
    source = f"def {name}({', '.join(new_params)}):\n    return {ast.unparse(body)}\n"
    path = pathlib.Path(_FILES) / f"{name}.py"
    path.write_text(source)
    namespace = dict(row.func.__globals__)
    exec(compile(source, str(path), "exec"), namespace)  # noqa: S102 (our own generated text)
    scalars = [float(v) for v in args[position].ravel()]
    listed = args[:position] + scalars + args[position + 1:]
    try:  # (Python's operators do not take lists: -[x, y], [x, y] * 2.5)
        value = namespace[name](*listed)
    except Exception:  # noqa: BLE001
        return None
    if isinstance(value, list):  # a list's own methods and slices (x.copy(), x[::2]): Python's, not NumPy's
        return None
    return namespace[name], listed, source


def flat_inputs(values):
    return np.concatenate([np.ravel(np.asarray(v, dtype=np.float64)) for v in values])


def unflatten(vector, like):
    out, at = [], 0
    for v in like:
        size = np.size(v)
        piece = vector[at:at + size]
        out.append(float(piece[0]) if np.ndim(v) == 0 and not isinstance(v, np.ndarray) else piece.reshape(np.shape(v)))
        at += size
    return out


def output_leaves(value):
    if isinstance(value, (tuple, list)):
        return [leaf for item in value for leaf in output_leaves(item)]
    return [np.asarray(value, dtype=np.float64)]


def plain(func, like):
    return lambda vector: np.concatenate([leaf.ravel() for leaf in output_leaves(func(*unflatten(vector, like)))])


def jacobian_by_differences(g, x, step=1e-6):
    columns = []
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = step
        columns.append((g(x + e) - g(x - e)) / (2 * step))
    return np.stack(columns, axis=-1)


def hessian_by_differences(g, x, step=1e-4):
    return np.stack([jacobian_by_differences(lambda v, i=i: jacobian_by_differences(g, v, step)[:, i], x, step)
                     for i in range(x.size)], axis=1)  # (out, i, j)


def as_matrix(result, outputs, sizes, order):
    """adjoint's nested result (outputs, then one block per argument, per
    ``order`` levels) as an array (n_out, n_in[, n_in])."""
    per_output = result if len(outputs) > 1 else [result]
    rows = []
    for out, blocks in zip(outputs, per_output, strict=True):
        n_out = out.size
        if order == 1:
            rows.append(np.concatenate([np.reshape(b, (n_out, s)) for b, s in zip(blocks, sizes, strict=True)],
                                       axis=1))
        else:
            rows.append(np.concatenate([np.concatenate(
                [np.reshape(b, (n_out, si, sj)) for b, sj in zip(line, sizes, strict=True)], axis=2)
                for line, si in zip(blocks, sizes, strict=True)], axis=1))
    return np.concatenate(rows, axis=0)


def classify(exc):
    if isinstance(exc, rt.ValueRefused) and not str(exc).startswith(PACKAGE):
        return "refused"
    if not isinstance(exc, errors.AdjointError):
        return "CRASH"
    text = str(exc)
    return "INSIDE" if text.startswith(PACKAGE) or f"\n{PACKAGE}" in text else "refused"


def audit(func, args, vmap):
    """[(transform, status, detail)] of one listed function."""
    argnums = tuple(range(len(args)))
    sizes = [int(np.size(a)) for a in args]
    outputs = output_leaves(func(*args))
    g = plain(func, args)
    x = flat_inputs(args)
    found = []
    references = {"jacrev": lambda: jacobian_by_differences(g, x), "jacfwd": lambda: jacobian_by_differences(g, x),
                  "hessian": lambda: hessian_by_differences(g, x)}
    for name, reference in references.items():
        try:
            got = getattr(adjoint, name)(func, argnums=argnums)(*args)
        except Exception as exc:  # noqa: BLE001 (reported)
            if TRACE:
                traceback.print_exc()
            found.append((name, classify(exc), f"{type(exc).__name__}: {str(exc).splitlines()[0][:140]}"))
            continue
        try:
            have = as_matrix(got, outputs, sizes, 2 if name == "hessian" else 1)
        except Exception as exc:  # noqa: BLE001
            found.append((name, "WRONG", f"result of an unexpected structure ({exc})"))
            continue
        want = reference()
        scale = max(1.0, float(np.max(np.abs(want), initial=0.0)))
        error = float(np.max(np.abs(have - want), initial=0.0)) / scale
        tolerance = 1e-5 if name != "hessian" else 1e-3
        found.append((name, "WRONG" if error > tolerance else "", f"relative error {error:.1e}"))
    if vmap:
        rng = np.random.default_rng(1)
        batched = [np.stack([np.asarray(a), np.asarray(a) + 0.01 * rng.standard_normal(np.shape(a))]) for a in args]
        try:
            got = adjoint.vmap(adjoint.jacrev(func, argnums=argnums))(*batched)
            for k in range(2):
                one = [b[k] if np.ndim(a) else float(b[k]) for a, b in zip(args, batched, strict=True)]
                have = as_matrix(_example(got, k), output_leaves(func(*one)), sizes, 1)
                want = jacobian_by_differences(plain(func, one), flat_inputs(one))
                error = float(np.max(np.abs(have - want), initial=0.0)) / max(1.0, float(np.max(np.abs(want))))
                if error > 1e-5:
                    found.append(("vmap(jacrev)", "WRONG", f"example {k}: relative error {error:.1e}"))
                    break
            else:
                found.append(("vmap(jacrev)", "", ""))
        except Exception as exc:  # noqa: BLE001 (reported)
            found.append(("vmap(jacrev)", classify(exc), f"{type(exc).__name__}: {str(exc).splitlines()[0][:140]}"))
    return found


def _example(tree, k):
    if isinstance(tree, (tuple, list)):
        return type(tree)(_example(item, k) for item in tree)
    return np.asarray(tree)[k]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--filter", default="", help="only rows whose id contains this")
    parser.add_argument("--vmap", action="store_true", help="vmap(jacrev) over two examples too")
    parser.add_argument("--all", action="store_true", help="list refused rows and the source of failing ones")
    parser.add_argument("--trace", action="store_true", help="print the traceback of each crash")
    options = parser.parse_args()
    if options.trace:
        TRACE.append(True)
    warnings.simplefilter("ignore")
    import test_rules as table

    seen, counts, start = set(), {}, time.perf_counter()
    for row in table.ROWS:
        if row.skip or options.filter not in row.id or id(row.prim) in seen:
            continue
        built = build(row, len(seen))
        if built is None:
            continue
        seen.add(id(row.prim))
        func, args, source = built
        for transform, status, detail in audit(func, args, options.vmap):
            counts[status or "ok"] = counts.get(status or "ok", 0) + 1
            if status and (status != "refused" or options.all):
                print(f"{status:8s}{row.id} {transform}: {detail}", flush=True)
                if options.all:
                    print(textwrap.indent(source, "        "))
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    print(f"{len(seen)} primitives called with a list ({summary}), {time.perf_counter() - start:.0f} s")
    return 1 if any(counts.get(s) for s in ("CRASH", "INSIDE", "WRONG")) else 0


if __name__ == "__main__":
    sys.exit(main())
