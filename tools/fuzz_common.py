"""What the random-program fuzzers share (tools/fuzz_transforms.py,
fuzz_features.py, fuzz_compose.py): loading a generated module, trees of
results, central differences and comparisons (``Failure`` when a number is
wrong), running one check and recording its outcome (``runner``), and the
loop over seeds that tallies and reports the outcomes (``main``).

A check's outcome is ``"ok"``, ``"WRONG ..."`` (a number differs from its
reference), ``"refused ..."`` (adjoint raised one of its errors) or
``"CRASH ..."`` (any other exception, with the end of its traceback).
"""
import importlib.util
import os
import sys
import traceback

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import adjoint  # noqa: E402
from adjoint.runtime.calls import ExceptionInBlock  # noqa: E402


def load(path, source, name):
    with open(path, "w") as handle:
        handle.write(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def leaves(tree):
    if isinstance(tree, dict):
        return [leaf for v in tree.values() for leaf in leaves(v)]
    if isinstance(tree, (list, tuple)):
        return [leaf for v in tree for leaf in leaves(v)]
    return [tree]


def flat(tree):
    return np.concatenate([np.ravel(np.asarray(leaf, dtype=np.float64)) for leaf in leaves(tree)])


def call_copy(func, *args):
    copies = [np.array(a, copy=True) for a in args]
    out = func(*copies)
    return out, copies


def fd_matrix(func, args, eps):
    """(N_out, N_in) central-difference matrix wrt all args (concatenated)."""
    base = np.concatenate([np.ravel(a) for a in args])
    sizes = [a.size for a in args]

    def f(vec):
        parts, off = [], 0
        for a, s in zip(args, sizes):
            parts.append(vec[off:off + s].reshape(a.shape).copy())
            off += s
        return flat(func(*parts))

    cols = []
    for i in range(base.size):
        step = np.zeros_like(base)
        step[i] = eps
        cols.append((f(base + step) - f(base - step)) / (2 * eps))
    return np.stack(cols, axis=1)


def jac_to_matrix(jac, out, nargs):
    """jacrev layout with tuple argnums -> (N_out, N_in) matrix."""
    rows = []
    out_leaves = leaves(out)
    if isinstance(out, dict):
        per_out = [jac[k] for k in out]
    elif isinstance(out, (list, tuple)):
        per_out = list(jac)
    else:
        per_out = [jac]
    assert len(per_out) == len(out_leaves)
    for leaf, blocks in zip(out_leaves, per_out):
        size = np.size(leaf)
        assert isinstance(blocks, tuple) and len(blocks) == nargs, type(blocks)
        rows.append(np.concatenate([np.reshape(b, (size, -1)) for b in blocks], axis=1))
    return np.concatenate(rows, axis=0)


def same_tree(a, b):
    la, lb = leaves(a), leaves(b)
    if type(a) is not type(b) and not (np.isscalar(a) or isinstance(a, np.ndarray)):
        return False
    if len(la) != len(lb):
        return False
    return all(np.shape(p) == np.shape(q) and np.array_equal(np.asarray(p), np.asarray(q), equal_nan=True)
               for p, q in zip(la, lb))


class Failure(Exception):
    pass


def close(got, want, what, rtol=1e-5, atol=1e-6):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    if got.shape != want.shape:
        raise Failure(f"{what}: shape {got.shape} != {want.shape}")
    if not np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True):
        diff = np.max(np.abs(got - want))
        raise Failure(f"{what}: max abs diff {diff:.3g}\n got={got}\nwant={want}")


def _map_tree(function, tree):
    if isinstance(tree, dict):
        return {k: _map_tree(function, v) for k, v in tree.items()}
    if isinstance(tree, tuple):
        return tuple(_map_tree(function, v) for v in tree)
    if isinstance(tree, list):
        return [_map_tree(function, v) for v in tree]
    return function(tree)


def _example(tree, b):
    if isinstance(tree, dict):
        return {k: _example(v, b) for k, v in tree.items()}
    if isinstance(tree, tuple):
        return tuple(_example(v, b) for v in tree)
    if isinstance(tree, list):
        return [_example(v, b) for v in tree]
    return np.asarray(tree)[b]


def runner(checks, results):
    """``run(name, fn)``: call ``fn`` if ``name`` is among ``checks`` (NumPy's
    floating-point warnings silenced) and append ``(name, outcome)`` to
    ``results``."""

    def run(name, fn):
        if name not in checks:
            return
        try:
            with np.errstate(all="ignore"):
                fn()
            results.append((name, "ok"))
        except Failure as error:
            results.append((name, "WRONG " + str(error)))
        except (adjoint.AdjointError, ExceptionInBlock) as error:
            results.append((name, "refused " + str(error).splitlines()[0][:200]))
        except Exception as error:  # noqa: BLE001 (a crash inside the library is what is hunted)
            results.append((name, "CRASH " + "".join(traceback.format_exception_only(type(error), error)).strip()[:600]
                            + "\n" + "".join(traceback.format_tb(error.__traceback__)[-3:])))

    return run


def report(tally, results, seed, source, fail_path):
    """Count the outcomes of one program in ``tally``; write the program and
    its failed checks to ``fail_path`` and print them (refusals only with
    ``--refused``)."""
    bad = [(n, r) for n, r in results if r != "ok"]
    for n, r in results:
        key = r.split()[0]
        tally[key] = tally.get(key, 0) + 1
    if bad:
        with open(fail_path, "w") as handle:
            handle.write(source + "\n# " + "\n# ".join(f"{n}: {r}" for n, r in bad).replace("\n", "\n# "))
        for n, r in bad:
            if not r.startswith("refused") or "--refused" in sys.argv:
                print(seed, n, r.splitlines()[0][:300], flush=True)


def main(doc, make_source, check, all_checks, module_prefix, fail_prefix, count=50, stmts=6):
    """The command line of a fuzzer: ``[first_seed] [count]`` (``--help``
    prints ``doc``; ``CHECKS=a,b`` and ``STMTS=n`` in the environment), one
    program per seed from ``make_source(rng, stmts)``, loaded as
    /tmp/fuzz_mods/<module_prefix><seed>.py and checked by ``check(module,
    seed, checks, source)`` (a list of outcomes, or a string when the
    program is not checked: its plain call failed, it has a kink, ...);
    failures go to /tmp/fuzz_fail/<fail_prefix><seed>.txt."""
    if "-h" in sys.argv or "--help" in sys.argv:
        print(doc)
        return
    numbers = [a for a in sys.argv[1:] if not a.startswith("-")]
    first = int(numbers[0]) if numbers else 0
    count = int(numbers[1]) if len(numbers) > 1 else count
    checks = os.environ.get("CHECKS", ",".join(all_checks)).split(",")
    stmts = int(os.environ.get("STMTS", str(stmts)))
    os.makedirs("/tmp/fuzz_fail", exist_ok=True)
    os.makedirs("/tmp/fuzz_mods", exist_ok=True)
    tally = {}
    seed = first
    try:  # (interrupted, e.g. by ``timeout -s INT``, it reports the seeds done)
        for seed in range(first, first + count):
            source = make_source(np.random.default_rng(seed), stmts)
            try:
                module = load(f"/tmp/fuzz_mods/{module_prefix}{seed}.py", source, f"{module_prefix}{seed}")
            except Exception as error:  # noqa: BLE001
                print(seed, "LOAD", error)
                continue
            results = check(module, seed, checks, source)
            if isinstance(results, str):
                tally[results] = tally.get(results, 0) + 1
                continue
            report(tally, results, seed, source, f"/tmp/fuzz_fail/{fail_prefix}{seed}.txt")
        seed += 1
    except KeyboardInterrupt:
        print(f"interrupted at seed {seed}")
    print(f"seeds {first}..{seed - 1}:", tally)
