"""Random-program fuzzer for compositions of transforms.

The programs of ``fuzz_features.FeatureBuilder`` (loops, branches, calls,
in-place updates, containers, derivatives inside, objects, SciPy, ...) get
three wrappers appended to their module:

- ``withprim(x, y) = program(prim(x), y)`` and ``sprim``, its scalar
  version, where ``prim`` is a function with user rules (``defvjp`` and
  ``defjvp``, SPEC.md section 5);
- ``inner(x, y) = grad(scalar)(x, y) * x + y``: a derivative called inside
  a differentiated function, and ``isum``, a scalar of it.

and checks of compositions, each against an independent reference (central
differences of the plain call, or of a first derivative that was itself
checked against central differences, or a Python loop for vmap):

- ``nested``: vmap(vmap(f, in_dims=(-1, None)), in_dims=(0, 0)) against two loops;
- ``outdims``: vmap(f, in_dims=(None, 0), out_dims=-1 or a tuple) against a loop;
- ``hessaux``: jacfwd(jacrev(f, has_aux=True), has_aux=True), argnums (0, 1): blocks and aux;
- ``fwdrevchunk``: jacfwd(jacrev(f, chunk_size=1), chunk_size=3);
- ``third3``: jacrev(jacrev(grad(f))) against differences of the hessian;
- ``mixed``: jacfwd(jacrev(f, argnums=0), argnums=1), jacrev(jacrev(f, argnums=1), argnums=0);
- ``jvpgrad``: jvp(grad(f), ...) = H t;
- ``vjpjacfwd``: vjp(jacfwd(f)) against differences of <ct, J>;
- ``inner``: jacrev(inner), hessian(isum) and vmap(jacrev(inner));
- ``prim``: jacrev / jacfwd / vmap(jacrev) of withprim; ``prim2``: hessian,
  vmap(hessian) and jacfwd(jacrev) of sprim;
- ``jacvmapshared``: jacrev(vmap(f, in_dims=(None, 0)), argnums=(0, 1))
  (the shared argument's derivative per example);
- ``vmaphessshared``: vmap(hessian(f, argnums=0), in_dims=(None, 0)).

Usage: python tools/fuzz_compose.py [first_seed] [count]
(CHECKS=a,b to choose checks; STMTS=n statements.)
Failures are written to /tmp/fuzz_fail/compose_<seed>.txt.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import fuzz_common  # noqa: E402
import fuzz_features  # noqa: E402
from fuzz_common import (  # noqa: E402
    Failure, _map_tree, close, fd_matrix, flat, jac_to_matrix, leaves, runner, same_tree)
from fuzz_transforms import N  # noqa: E402

import adjoint  # noqa: E402

WRAPPERS = '''

def prim(v):
    return np.sin(v) * v + 0.1 * v ** 3


def _prim_slope(v):
    return np.cos(v) * v + np.sin(v) + 0.3 * v ** 2


adjoint.defvjp(prim, lambda ans, v: lambda g: g * _prim_slope(v))
adjoint.defjvp(prim, lambda ans, v: lambda t: t * _prim_slope(v))


def withprim(x, y):
    return program(prim(x), y)


def sprim(x, y):
    return scalar(prim(x), y)


def inner(x, y):
    return adjoint.grad(scalar)(x, y) * x + y


def isum(x, y):
    return np.sum(inner(x, y) * np.cos(x))


def with_aux(x, y):
    return scalar(x, y), program(x, y)
'''

ALL = ["nested", "outdims", "hessaux", "fwdrevchunk", "third3", "mixed", "jvpgrad", "vjpjacfwd", "inner", "prim", "prim2",
       "jacvmapshared", "vmaphessshared"]


def loop_stack(results, k, axis=0):
    return np.stack([np.asarray(leaves(r)[k]) for r in results], axis=axis)


def check(module, rng, checks):
    program, scalar = module.program, module.scalar
    x = rng.uniform(-1.0, 1.0, N)
    y = rng.uniform(-1.0, 1.0, N)
    try:
        with np.errstate(all="ignore"):
            out = program(x.copy(), y.copy())
            module.withprim(x.copy(), y.copy())
    except Exception:
        return "plain-error"
    if not all(np.all(np.isfinite(leaf)) for leaf in leaves(out)):
        return "nonfinite"
    if max(float(np.max(np.abs(leaf), initial=0.0)) for leaf in leaves(out)) > 1e3:
        # scalar = sum(out * cos(out)) turns too fast for central differences
        return "large"
    fd1 = fd_matrix(program, (x, y), 1e-5)
    fd2 = fd_matrix(program, (x, y), 1e-7)
    if not np.allclose(fd1, fd2, rtol=1e-4, atol=1e-5):
        return "kink"
    results = []
    cache = {}

    def ref_grad(func, a, b):
        """grad of a scalar function, checked against central differences once."""
        g = adjoint.grad(func, argnums=(0, 1))
        got = np.concatenate(g(a.copy(), b.copy()))
        close(got, fd_matrix(func, (a, b), 1e-6)[0], f"grad of {func.__name__} (reference)")
        return lambda p, q: np.concatenate(g(p.copy(), q.copy()))

    def ref_hess(func, a, b):
        key = (func.__name__, a.tobytes(), b.tobytes())
        if key not in cache:
            g = ref_grad(func, a, b)
            cache[key] = fd_matrix(g, (a, b), 1e-5)
        return cache[key]

    run = runner(checks, results)

    def t_nested():
        B1, B2 = 2, 3
        X = rng.uniform(-1.0, 1.0, (B1, N, B2))
        Y = rng.uniform(-1.0, 1.0, (B1, N))
        got = adjoint.vmap(adjoint.vmap(program, in_dims=(-1, None)), in_dims=(0, 0))(X.copy(), Y.copy())
        loop = [[program(X[i, :, j].copy(), Y[i].copy()) for j in range(B2)] for i in range(B1)]
        for k, leaf in enumerate(leaves(got)):
            want = np.stack([loop_stack(row, k) for row in loop])
            close(leaf, want, f"vmap(vmap) leaf {k}", rtol=1e-10, atol=1e-12)

    def t_outdims():
        B = 3
        Y = rng.uniform(-1.0, 1.0, (B, N))
        loop = [program(x.copy(), Y[b].copy()) for b in range(B)]
        if isinstance(out, tuple):
            dims = tuple(-1 if np.ndim(leaf) else 0 for leaf in out)
        else:
            dims = -1 if all(np.ndim(leaf) for leaf in leaves(out)) else 0
        got = adjoint.vmap(program, in_dims=(None, 0), out_dims=dims)(x.copy(), Y.copy())
        per_leaf = dims if isinstance(dims, tuple) else [dims] * len(leaves(out))
        for k, leaf in enumerate(leaves(got)):
            close(leaf, loop_stack(loop, k, axis=per_leaf[k]), f"vmap(out_dims={dims}) leaf {k}",
                  rtol=1e-10, atol=1e-12)

    def t_hessaux():
        # hessian takes no has_aux (SPEC.md section 3): its definition, jacfwd(jacrev), with has_aux
        inner_aux = adjoint.jacrev(module.with_aux, argnums=(0, 1), has_aux=True)
        h, aux = adjoint.jacfwd(inner_aux, argnums=(0, 1), has_aux=True)(x.copy(), y.copy())
        if not same_tree(aux, out):
            raise Failure(f"hessian has_aux: aux {aux} != plain {out}")
        close(np.block([[h[0][0], h[0][1]], [h[1][0], h[1][1]]]), ref_hess(scalar, x, y),
              "hessian(argnums=(0, 1), has_aux=True)", rtol=1e-4, atol=1e-5)

    def t_fwdrevchunk():
        h = adjoint.jacfwd(adjoint.jacrev(scalar, argnums=(0, 1), chunk_size=1), argnums=(0, 1),
                           chunk_size=3)(x.copy(), y.copy())
        close(np.block([[h[0][0], h[0][1]], [h[1][0], h[1][1]]]), ref_hess(scalar, x, y),
              "jacfwd(jacrev(chunk_size=1), chunk_size=3)", rtol=1e-4, atol=1e-5)

    def t_third3():
        t3 = adjoint.jacrev(adjoint.jacrev(adjoint.grad(scalar, argnums=1), argnums=0), argnums=1)(x.copy(), y.copy())
        hfun = adjoint.jacrev(adjoint.grad(scalar, argnums=1), argnums=0)
        h = hfun(x.copy(), y.copy())
        close(h, ref_hess(scalar, x, y)[N:, :N], "jacrev(grad) (for third)", rtol=1e-4, atol=1e-5)
        ref = fd_matrix(lambda a, b: hfun(a, b), (x, y), 1e-5)[:, N:].reshape(N, N, N)
        close(t3, ref, "jacrev(jacrev(grad))", rtol=1e-4, atol=1e-4)

    def t_mixed():
        # second derivatives along the other argument than the first derivative's
        ref = ref_hess(scalar, x, y)
        h = adjoint.jacfwd(adjoint.jacrev(scalar, argnums=0), argnums=1)(x.copy(), y.copy())
        close(h, ref[:N, N:], "jacfwd(jacrev(argnums=0), argnums=1)", rtol=1e-4, atol=1e-5)
        h = adjoint.jacrev(adjoint.jacrev(scalar, argnums=1), argnums=0)(x.copy(), y.copy())
        close(h, ref[N:, :N], "jacrev(jacrev(argnums=1), argnums=0)", rtol=1e-4, atol=1e-5)

    def t_jvpgrad():
        tx, ty = rng.normal(size=N), rng.normal(size=N)
        g, tg = adjoint.jvp(adjoint.grad(scalar, argnums=0), (x.copy(), y.copy()), (tx, ty))
        close(g, ref_grad(scalar, x, y)(x, y)[:N], "jvp(grad) value")
        close(tg, ref_hess(scalar, x, y)[:N] @ np.concatenate([tx, ty]), "jvp(grad) tangent",
              rtol=1e-4, atol=1e-5)

    def t_vjpjacfwd():
        jf = adjoint.jacfwd(program, argnums=0)
        value, fn = adjoint.vjp(jf, x.copy(), y.copy())
        ct = _map_tree(lambda leaf: rng.normal(size=np.shape(leaf)), value)
        gx, gy = fn(ct)
        ct_flat = flat(ct)
        ref = fd_matrix(lambda a, b: np.array([flat(jf(a, b)) @ ct_flat]), (x, y), 1e-5)[0]
        rows = [np.reshape(np.asarray(j), (np.size(o), N)) for j, o in zip(leaves(value), leaves(out))]
        close(np.concatenate(rows), fd1[:, :N], "vjp(jacfwd) value (the Jacobian)")
        close(np.concatenate([gx, gy]), ref, "vjp(jacfwd)", rtol=1e-4, atol=1e-5)

    def t_inner():
        inner = module.inner
        want = fd_matrix(inner, (x, y), 1e-6)
        jac = adjoint.jacrev(inner, argnums=(0, 1))(x.copy(), y.copy())
        close(np.concatenate(jac, axis=1), want, "jacrev(inner)", rtol=1e-4, atol=1e-5)
        h = adjoint.hessian(module.isum, argnums=0)(x.copy(), y.copy())
        close(h, ref_hess(module.isum, x, y)[:N, :N], "hessian(isum)", rtol=1e-4, atol=1e-4)
        X = rng.uniform(-1.0, 1.0, (2, N))
        X[0] = x
        got = adjoint.vmap(adjoint.jacrev(inner, argnums=0), in_dims=(0, None))(X.copy(), y.copy())
        for b in range(2):
            close(got[b], fd_matrix(inner, (X[b], y), 1e-6)[:, :N], f"vmap(jacrev(inner)) example {b}",
                  rtol=1e-4, atol=1e-5)

    def t_prim():
        withprim, sprim = module.withprim, module.sprim
        want = fd_matrix(withprim, (x, y), 1e-6)
        for transform in (adjoint.jacrev, adjoint.jacfwd):
            jac = transform(withprim, argnums=(0, 1))(x.copy(), y.copy())
            close(jac_to_matrix(jac, out, 2), want, f"{transform.__name__}(withprim)", rtol=1e-4, atol=1e-5)
        X = rng.uniform(-1.0, 1.0, (2, N))
        X[0] = x
        got = adjoint.vmap(adjoint.jacrev(sprim, argnums=0), in_dims=(0, None))(X.copy(), y.copy())
        for b in range(2):
            close(got[b], fd_matrix(sprim, (X[b], y), 1e-6)[0][:N], f"vmap(grad sprim) example {b}")

    def t_prim2():
        sprim = module.sprim
        X = rng.uniform(-1.0, 1.0, (2, N))
        X[0] = x
        h = adjoint.hessian(sprim, argnums=(0, 1))(x.copy(), y.copy())
        ref = ref_hess(sprim, x, y)
        close(np.block([[h[0][0], h[0][1]], [h[1][0], h[1][1]]]), ref, "hessian(sprim)", rtol=1e-4, atol=1e-5)
        h2 = adjoint.jacfwd(adjoint.jacrev(sprim, argnums=0), argnums=1)(x.copy(), y.copy())
        close(h2, ref[:N, N:], "jacfwd(jacrev(sprim))", rtol=1e-4, atol=1e-5)
        hv = adjoint.vmap(adjoint.hessian(sprim, argnums=0), in_dims=(0, None))(X.copy(), y.copy())
        for b in range(2):
            close(hv[b], ref_hess(sprim, X[b], y)[:N, :N], f"vmap(hessian(sprim)) example {b}",
                  rtol=1e-4, atol=1e-5)

    def t_jacvmapshared():
        B = 2
        Y = rng.uniform(-1.0, 1.0, (B, N))
        Y[0] = y
        jac = adjoint.jacrev(adjoint.vmap(program, in_dims=(None, 0)), argnums=(0, 1))(x.copy(), Y.copy())
        per_out = [jac[k] for k in out] if isinstance(out, dict) else (list(jac) if isinstance(out, tuple) else [jac])
        for b in range(B):
            want = fd_matrix(program, (x, Y[b]), 1e-6)
            rows = []
            for leaf, (jx, jy) in zip(leaves(out), per_out):
                size = np.size(leaf)
                jx, jy = np.asarray(jx)[b], np.asarray(jy)[b]
                rows.append(np.concatenate([jx.reshape(size, N), jy[..., b, :].reshape(size, N)], axis=1))
                for other in range(B):
                    if other != b:
                        close(jy[..., other, :], np.zeros_like(jy[..., other, :]),
                              f"jacrev(vmap(in_dims=(None, 0))) example {b} wrt {other}")
            close(np.concatenate(rows), want, f"jacrev(vmap(in_dims=(None, 0))) example {b}")

    def t_vmaphessshared():
        B = 2
        Y = rng.uniform(-1.0, 1.0, (B, N))
        Y[0] = y
        got = adjoint.vmap(adjoint.hessian(scalar, argnums=0), in_dims=(None, 0))(x.copy(), Y.copy())
        for b in range(B):
            close(got[b], ref_hess(scalar, x, Y[b])[:N, :N], f"vmap(hessian, in_dims=(None, 0)) example {b}",
                  rtol=1e-4, atol=1e-5)

    for name, fn in [("nested", t_nested), ("outdims", t_outdims), ("hessaux", t_hessaux),
                     ("fwdrevchunk", t_fwdrevchunk), ("third3", t_third3), ("mixed", t_mixed), ("jvpgrad", t_jvpgrad),
                     ("vjpjacfwd", t_vjpjacfwd), ("inner", t_inner), ("prim", t_prim), ("prim2", t_prim2),
                     ("jacvmapshared", t_jacvmapshared), ("vmaphessshared", t_vmaphessshared)]:
        run(name, fn)
    return results


def main():
    fuzz_common.main(__doc__, lambda rng, stmts: fuzz_features.FeatureBuilder(rng).program(stmts) + WRAPPERS,
                     lambda module, seed, checks, source: check(module, np.random.default_rng(20_000 + seed), checks),
                     ALL, "compose_", "compose_", count=20, stmts=5)


if __name__ == "__main__":
    main()
