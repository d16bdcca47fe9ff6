"""Every mode at the edges of infinite slopes, against each other and autograd.

``python tools/slopes_sweep.py`` differentiates small functions where a zero
slope meets an infinite one (``np.sqrt(x) ** 2`` at 0, ``x ** 2 * np.log(x)``,
``np.cbrt``, ``np.abs``, ``np.arcsin`` at 1, chains of them) by ``jacrev``,
``jacfwd``, both with ``sparse=True``, ``jvp`` and ``vjp`` along the basis, and
``vmap`` of ``jacrev`` and ``jacfwd``; and their Hessians by ``hessian``,
``jacrev(jacrev)`` and ``jacfwd(jacrev)``. The reference is autograd's
Jacobian (``np.cbrt`` written as ``sign(x) * |x| ** (1/3)`` there), with
adjoint's documented convention: where autograd multiplies a zero of its seed
(another row or column) by an infinite slope, adjoint gives 0 (docs/supported.md,
"Zeros and infinite slopes").

Disagreements are printed; those the docs name as known (a mark lost in
vmap's batched helpers) are printed as such and do not fail. The exit status is
1 when any other disagreement is found. Run it with ``PYTHONPATH`` at the
working copy; it takes about a minute (each function is transformed anew).
"""
import importlib.util
import os
import sys
import tempfile
import warnings

import numpy as np

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
]

#: (body, mode) disagreements the docs name: a mark lost in vmap's batched helpers
KNOWN = {("np.sqrt(x) ** 2 + x[1]", "vmap_jacrev")}


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


def _agrees(actual, reference):
    actual = np.asarray(actual, dtype=float)
    reference = np.array(reference, dtype=float)
    if actual.shape != reference.shape:
        return False
    if actual.ndim == 2:  # a zero of the seed (another row or column) times an infinite slope: 0 by convention
        convention = ~np.eye(actual.shape[0], dtype=bool) & np.isnan(reference) & (actual == 0)
        reference[convention] = 0.0
    return bool(np.allclose(actual, reference, equal_nan=True, rtol=1e-7, atol=1e-12))


def _dense(value):
    return value.toarray() if hasattr(value, "toarray") else value


def sweep():
    import autograd
    import autograd.numpy as anp

    import adjoint

    failures = known = 0
    with tempfile.TemporaryDirectory() as directory, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for body, point in CASES:
            f, autograd_f = _functions(body, directory)
            x = np.array(point)
            n = x.size
            eye = np.eye(n)

            def total(x, f=f):
                return np.sum(f(x))

            jacobians = {
                "jacrev": lambda: adjoint.jacrev(f)(x),
                "jacfwd": lambda: adjoint.jacfwd(f)(x),
                "jacrev_sparse": lambda: _dense(adjoint.jacrev(f, sparse=True)(x)),
                "jacfwd_sparse": lambda: _dense(adjoint.jacfwd(f, sparse=True)(x)),
                "jvp": lambda: np.stack([adjoint.jvp(f, (x,), (eye[i],))[1] for i in range(n)], axis=-1),
                "vjp": lambda: np.stack([adjoint.vjp(f, x)[1](eye[i])[0] for i in range(n)]),
                "vmap_jacrev": lambda: adjoint.vmap(adjoint.jacrev(f))(x[None])[0],
                "vmap_jacfwd": lambda: adjoint.vmap(adjoint.jacfwd(f))(x[None])[0],
            }
            hessians = {
                "hessian": lambda: adjoint.hessian(total)(x),
                "jacrev_jacrev": lambda: adjoint.jacrev(adjoint.jacrev(total))(x),
                "jacfwd_jacrev": lambda: adjoint.jacfwd(adjoint.jacrev(total))(x),
            }
            references = (autograd.jacobian(autograd_f)(x),
                          autograd.hessian(lambda x: anp.sum(autograd_f(x)))(x))
            lines = []
            for modes, reference in zip((jacobians, hessians), references):
                for mode, run in modes.items():
                    try:
                        value = run()
                    except Exception as error:  # (reported, as a disagreement)
                        value = f"{type(error).__name__}: {error}"
                    if not isinstance(value, str) and _agrees(value, reference):
                        continue
                    shown = value if isinstance(value, str) else np.asarray(value).tolist()
                    if (body, mode) in KNOWN and not isinstance(value, str):
                        known += 1
                        lines.append(f"    {mode} (known, see docs): {shown}")
                    else:
                        failures += 1
                        lines.append(f"    {mode}: {shown}")
            status = "ok " if not lines else "   "
            print(f"{status} {body} at {point}: autograd {references[0].tolist()}")
            for line in lines:
                print(line)
    print(f"{failures} disagreements, {known} known ones")
    return failures


if __name__ == "__main__":
    sys.exit(1 if sweep() else 0)
