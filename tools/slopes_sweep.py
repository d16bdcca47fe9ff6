"""Every mode at the edges of infinite slopes, against each other and autograd.

``python tools/slopes_sweep.py`` differentiates small functions where a zero
slope meets an infinite one (``np.sqrt(x) ** 2`` at 0, ``x ** 2 * np.log(x)``,
``np.cbrt``, ``np.abs``, ``np.arcsin`` at 1, chains of them, and the same
through ``@``, ``np.dot``, ``np.einsum``, ``np.array([...])``, ``np.stack``,
``np.concatenate``, ``np.where``, sums over an axis and reshapes) by
``jacrev``, ``jacfwd``, both with ``sparse=True``, ``jvp`` and ``vjp`` along
the basis, ``vmap`` of ``jacrev`` and ``jacfwd`` and ``jacfwd`` of ``vmap``;
and their Hessians by ``hessian``, ``jacrev(jacrev)``, ``jacfwd(jacrev)``,
``jacrev(jacfwd)`` and ``vmap(hessian)``.

The reference is autograd's derivative (``np.cbrt`` written as
``sign(x) * |x| ** (1/3)`` there). Where autograd gives NaN, adjoint may give
a number (docs/supported.md, "Zeros and infinite slopes"): where autograd
multiplies a zero of its seed by an infinite slope (one on a path that does
not reach the output, or does not start at the input), adjoint gives what
that path leaves out, and this number must then be the one-sided finite
difference of autograd's function (or gradient), 0 where the output does not
depend on the input. Every mode must moreover give the same numbers as the
first (``jacrev``; ``hessian`` for second derivatives), NaNs included: reverse
and forward mode reach a NaN by different ways, so that is the check that a
NaN was not lost on one of them.

Disagreements are printed; those the docs name as known (``KNOWN``: a
second derivative through ``np.abs`` that is NaN where autograd's is 0) are
printed as such and do not fail. The exit status is 1 when any other is
found. Run it with ``PYTHONPATH`` at the working copy (each function is
transformed anew; about 10 s).
"""
import importlib.util
import os
import sys
import tempfile
import warnings

import numpy as np

_M = "np.array([[1.0, 2.0], [0.5, 3.0]])"
_M3 = "np.array([[1.0, 2.0, 0.5], [0.5, 3.0, 1.0]])"

#: (body of f(x), point)
CASES = [
    ("np.sqrt(x) ** 2", [0.0, 1.0]),
    ("np.sqrt(x ** 2)", [0.0, 1.0]),
    ("x ** 2 * np.log(x)", [0.0, 1.0]),
    ("np.cbrt(x) ** 3", [0.0, 1.0]),
    ("np.cbrt(x ** 3)", [0.0, 1.0]),
    ("np.sqrt(np.abs(x)) ** 2", [0.0, 1.0]),
    ("(np.arcsin(x) - np.pi / 2) ** 2", [1.0, 0.5]),
    ("np.sqrt(x) * np.sqrt(x)", [0.0, 1.0]),
    ("np.sin(np.sqrt(x) ** 2)", [0.0, 1.0]),
    ("np.sqrt(x) ** 2 + x[1]", [0.0, 2.0]),
    ("np.sqrt(x * x)", [0.0, 1.0]),
    ("np.sqrt(x) + x[1]", [0.0, 2.0]),
    ("x ** 0 + x", [0.0, 1.0]),
    ("x ** 3 * np.sqrt(x)", [0.0, 1.0]),
    # a cotangent (reverse) or tangent (forward) through products of arrays
    (f"{_M} @ np.sqrt(x) ** 2", [0.0, 1.0]),
    (f"{_M3} @ np.sqrt(x) ** 2", [0.0, 1.0, 2.0]),
    (f"np.sqrt(x) ** 2 @ {_M}", [0.0, 1.0]),
    (f"np.sqrt({_M} @ x ** 2)", [0.0, 0.0]),
    (f"np.dot({_M}, np.sqrt(x) ** 2)", [0.0, 1.0]),
    (f"np.dot(np.sqrt(x) ** 2, {_M})", [0.0, 1.0]),
    ("np.dot(np.array([2.0, 0.5]), np.sqrt(x) ** 2) * x", [0.0, 1.0]),
    ("np.sqrt(np.dot(x, x))", [0.0, 0.0]),
    ("np.sqrt(x @ x) + x", [0.0, 0.0]),
    (f"np.einsum('ij,j->i', {_M}, np.sqrt(x) ** 2)", [0.0, 1.0]),
    ("np.sqrt(np.einsum('i,i->', x, x)) * x", [0.0, 0.0]),
    ("np.sum(np.sqrt(np.outer(x, x)) ** 2, axis=0)", [0.0, 1.0]),
    # gathered into one array, and moved around
    ("np.array([np.sqrt(x[0]) ** 2, x[1]])", [0.0, 1.0]),
    ("np.array([np.sqrt(x[0]) ** 2 + x[1], x[1] * x[0]])", [0.0, 1.0]),
    ("np.stack([np.sqrt(x) ** 2, x])", [0.0, 1.0]),
    ("np.concatenate([np.sqrt(x) ** 2, x[:1]])", [0.0, 1.0]),
    ("np.sqrt(np.concatenate([x, x]) ** 2)", [0.0, 1.0]),
    ("np.where(x < 0.5, np.sqrt(x) ** 2, x)", [0.0, 1.0]),
    ("np.sum(np.sqrt(x.reshape(2, 1) * np.ones((1, 2))) ** 2, axis=1)", [0.0, 1.0]),
    ("(np.sqrt(x) ** 2).reshape(1, 2).T.ravel() + x[1]", [0.0, 1.0]),
    ("np.sqrt(x[::-1]) ** 2 * x", [0.0, 1.0]),
    ("np.cumsum(np.sqrt(x) ** 2)", [0.0, 1.0]),
]


#: (body, mode) disagreements the docs name (docs/supported.md, "Zeros and infinite slopes"): the
#: gradient through np.abs's pullback is NaN at 0 and meets the zero slope of np.sign along the
#: other columns in a plain product, NaN at d grad_0 / d x_1 where autograd has 0 (a NaN, not a number)
KNOWN = {("np.sqrt(np.abs(x)) ** 2", mode)
         for mode in ("hessian", "jacrev_jacrev", "jacfwd_jacrev", "jacrev_jacfwd", "vmap_hessian")}


def _functions(body, directory):
    """``f`` for adjoint (from a file: adjoint reads its source) and for autograd."""
    import autograd.numpy as anp

    path = os.path.join(directory, f"case_{abs(hash(body))}.py")
    with open(path, "w") as file:
        file.write(f"import numpy as np\n\n\ndef f(x):\n    return {body}\n")
    spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    namespace = {"anp": anp, "cbrt": lambda v: anp.sign(v) * anp.abs(v) ** (1.0 / 3)}
    exec("def f(x):\n    return " + body.replace("np.cbrt", "cbrt").replace("np.", "anp.") + "\n", namespace)
    return module.f, namespace["f"]


def _agrees(actual, reference, slopes):
    """``actual`` is ``reference``, or, where that is NaN (a zero times an
    infinite slope somewhere in autograd's pass), the one-sided finite
    difference ``slopes`` (0 where the output does not depend on the input)."""
    actual = np.asarray(actual, dtype=float)
    reference = np.array(reference, dtype=float)
    if actual.shape != reference.shape:
        return False
    unknown = np.isnan(reference)
    if not np.allclose(actual[~unknown], reference[~unknown], equal_nan=True, rtol=1e-7, atol=1e-12):
        return False
    finite = unknown & ~np.isnan(actual)
    return bool(np.allclose(actual[finite], slopes[finite], rtol=1e-4, atol=1e-4))


def _one_sided(g, x, h=1e-7):
    """The derivative of ``g`` at ``x`` by one-sided differences (from the
    side where ``g`` is defined; both offsets off ``x`` where ``g(x)`` is
    not finite), an axis for ``x`` last; NaN where none is finite."""
    base = np.asarray(g(x), dtype=float)
    columns = []
    for j in range(x.size):
        step = np.zeros_like(x)
        step.flat[j] = h
        column = np.full(base.shape, np.nan)
        for sign in (1.0, -1.0):
            near, far = np.asarray(g(x + sign * step), dtype=float), np.asarray(g(x + 2 * sign * step), dtype=float)
            estimate = np.where(np.isfinite(base), (near - base) / (sign * h), (far - near) / (sign * h))
            column = np.where(np.isnan(column), estimate, column)
        columns.append(column)
    return np.stack(columns, axis=-1)


def _same(actual, first):
    actual, first = np.asarray(actual, dtype=float), np.asarray(first, dtype=float)
    return actual.shape == first.shape and bool(np.allclose(actual, first, equal_nan=True, rtol=1e-9, atol=1e-12))


def _dense(value):
    return value.toarray() if hasattr(value, "toarray") else value


def _modes(f, x):
    import adjoint

    n = x.size
    eye = np.eye(n)

    def total(x):
        return np.sum(f(x))

    def from_jvp():
        return np.stack([adjoint.jvp(f, (x,), (eye[i],))[1] for i in range(n)], axis=-1)

    def from_vjp():
        out, pull = adjoint.vjp(f, x)
        rows = [pull(row.reshape(np.shape(out)))[0] for row in np.eye(np.size(out))]
        return np.reshape(rows, np.shape(out) + (n,))

    jacobians = {
        "jacrev": lambda: adjoint.jacrev(f)(x),
        "jacfwd": lambda: adjoint.jacfwd(f)(x),
        "jacrev_sparse": lambda: _dense(adjoint.jacrev(f, sparse=True)(x)),
        "jacfwd_sparse": lambda: _dense(adjoint.jacfwd(f, sparse=True)(x)),
        "jvp": from_jvp,
        "vjp": from_vjp,
        "vmap_jacrev": lambda: adjoint.vmap(adjoint.jacrev(f))(x[None])[0],
        "vmap_jacfwd": lambda: adjoint.vmap(adjoint.jacfwd(f))(x[None])[0],
        "jacfwd_vmap": lambda: adjoint.jacfwd(adjoint.vmap(f))(x[None])[0, ..., 0, :],
        "jacrev_vmap": lambda: adjoint.jacrev(adjoint.vmap(f))(x[None])[0, ..., 0, :],
    }
    hessians = {
        "hessian": lambda: adjoint.hessian(total)(x),
        "jacrev_jacrev": lambda: adjoint.jacrev(adjoint.jacrev(total))(x),
        "jacfwd_jacrev": lambda: adjoint.jacfwd(adjoint.jacrev(total))(x),
        "jacrev_jacfwd": lambda: adjoint.jacrev(adjoint.jacfwd(total))(x),
        "vmap_hessian": lambda: adjoint.vmap(adjoint.hessian(total))(x[None])[0],
    }
    return jacobians, hessians


def sweep(cases=CASES):
    import autograd
    import autograd.numpy as anp

    failures = known = 0
    with tempfile.TemporaryDirectory() as directory, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for body, point in cases:
            f, autograd_f = _functions(body, directory)
            x = np.array(point)

            def autograd_total(x):
                return anp.sum(autograd_f(x))

            references = (autograd.jacobian(autograd_f)(x), autograd.hessian(autograd_total)(x))
            slopes = (_one_sided(autograd_f, x), _one_sided(autograd.grad(autograd_total), x))
            lines = []
            for modes, reference, slope in zip(_modes(f, x), references, slopes):
                first = None
                for mode, run in modes.items():
                    try:
                        value = run()
                    except Exception as error:  # (reported, as a disagreement)
                        value = f"{type(error).__name__}: {error}"
                    if isinstance(value, str):
                        failures += 1
                        lines.append(f"    {mode}: {value}")
                        continue
                    value = np.reshape(value, np.shape(reference)) if np.size(value) == np.size(reference) else value
                    first = value if first is None else first
                    if not _agrees(value, reference, slope):
                        line = f"    {mode}: {np.asarray(value).tolist()}"
                    elif not _same(value, first):
                        line = f"    {mode} (not the first mode's): {np.asarray(value).tolist()}"
                    else:
                        continue
                    if (body, mode) in KNOWN and np.isnan(value).sum() >= np.isnan(reference).sum():
                        known += 1
                        line += " (known, see docs)"
                    else:
                        failures += 1
                    lines.append(line)
            status = "ok " if not lines else "   "
            print(f"{status} {body} at {point}: autograd {references[0].tolist()}")
            for line in lines:
                print(line)
    print(f"{failures} disagreements, {known} known ones")
    return failures


if __name__ == "__main__":
    sys.exit(1 if sweep() else 0)
