"""Forward mode: ``jacfwd`` runs the generated tangent code over chunks of
columns of the inputs' identity basis; ``jvp`` pushes given tangents;
``hessian`` is forward mode over the generated reverse code (with compressed
passes where its sparsity pattern allows, api/sparse.py)."""
import functools
from typing import Any, Optional

import numpy as np

from . import passes as _passes
from . import progress as _progress
from .. import errors, made
from . import bases, fast_forward, pytree, vmap_jacobians
from .hints import ArgNums, Function
from .budget import _jacobian_bytes, _passes_per_chunk, get_memory_budget
from .calling import (
    _Finder, _Inputs, _check_argnums, _check_chunk_size, _check_executor, _check_function, _check_progress,
    _check_sparse, _leaf_adjoints, _name, _output_leaves, _user_errors,
)
from .reverse import _assemble, _strip_batch, _zero_independent_blocks, jacrev


# ------------------------------------------------------------------ forward mode

CHUNK_ELEMENTS = 2 ** 21
"""The most elements (16 MiB of float64) of one tangent array of a default
chunk: the columns of a large dense ``jacfwd`` are pushed through in chunks
of this size rather than as many as the memory budget holds. Each
operation of the tangent code makes a new array of the chunk's size; at a
few MiB the allocator hands back the memory the last one freed (and the
cache holds it), where arrays of hundreds of MiB are fresh pages from the
system at every operation. ``jacfwd`` of the elementwise workload at
n = 10^4 took 65 s with the budget's chunks (537 MB tangents) on the
development machine, autograd 23 s."""


def jacfwd(func: Function, argnums: ArgNums = 0, *, has_aux: bool = False,
           chunk_size: Optional[int] = None, progress: bool = False, sparse: bool = False,
           executor: Any = None) -> Function:
    """The Jacobian of ``func`` by forward mode: the generated tangent code runs
    over chunks of ``chunk_size`` columns of the inputs' identity basis (all at
    once by default).

    Same arguments, checks and result structure as ``jacrev``; prefer it when
    the inputs have fewer elements than the outputs.

    Args:
        func: The function to differentiate (as for ``jacrev``).
        argnums: An int or a non-empty tuple of ints: the arguments differentiated.
        has_aux: ``func`` returns ``(output, aux)``.
        chunk_size: Columns of the inputs' identity basis per call of the
            tangent code (``None``: all at once).
        progress: Report progress over the chunks on stderr.
        sparse: Return ``scipy.sparse.csr_matrix`` blocks, computed by one
            forward pass per chunk of column colours (Curtis-Powell-Reid) of
            the detected sparsity pattern (see ``adjoint.sparsity``).
        executor: ``None``, or a ``concurrent.futures.Executor`` running the
            chunks of columns in parallel (as for ``jacrev``); a function
            that changes its arguments or objects' attributes runs its
            chunks here, one after another, each from the state before the
            call (see ``api/passes.py``).

    Returns:
        A function returning the Jacobian, laid out as ``jacrev``'s
        (``(jacobian, aux)`` with ``has_aux``).

    Raises:
        TypeError: As ``jacrev``.
        ValueError: As ``jacrev``.
        adjoint.NoRuleError: A function ``func`` calls has no forward-mode rule.

    Examples:
        >>> import numpy as np, adjoint
        >>> def circle(t):
        ...     return np.stack([np.cos(t), np.sin(t), t ** 2])
        >>> np.round(adjoint.jacfwd(circle)(1.0), 3)
        array([-0.841,  0.54 ,  2.   ])
    """
    _check_function(func, "jacfwd")
    _check_chunk_size(chunk_size)
    _check_progress(progress)
    _check_executor(executor)
    if _check_sparse(sparse, progress, executor):
        from . import sparse as _sparse
        return _sparse.sparse_jacfwd(func, argnums, has_aux, chunk_size)
    find = _Finder(func, mode="jvp")
    diagonal = not has_aux and not progress and executor is None and made.vmap_of(func) is not None
    # (one array in, one array out, all columns at once: api/fast_forward.py)
    common = (not diagonal and type(argnums) is int and not has_aux and chunk_size is None and not progress
              and executor is None)

    @functools.wraps(func)
    def jacobian_fn(*args, **kwargs):
        try:
            if common:
                found = fast_forward.jacobian(find, argnums, args, kwargs)
                if found is not fast_forward.GENERAL:
                    return found
            if diagonal:  # (the Jacobian of a vmapped function: api/vmap_jacobians.py)
                found = vmap_jacobians.block_diagonal(func, jacfwd, argnums, chunk_size, args, kwargs)
                if found is not None:
                    return found
            return _jacfwd_call(find, argnums, has_aux, chunk_size, args, kwargs, progress, executor)
        except errors.MemoryBudgetError as exc:  # (raised inside a composition: name the user's)
            raise errors.retitled(exc, f"jacfwd({made.describe(func)})") from None

    made.register(jacobian_fn, func, "jacfwd", argnums, has_aux)
    return jacobian_fn


@_user_errors
def _jacfwd_call(find, argnums, has_aux, chunk_size, args, kwargs, progress=False, executor=None, pushed=None):
    """The general path. ``pushed``: the ``(result, out_dot)`` of the first
    chunk of columns, all of them, already pushed through (api/fast_forward.py)."""
    positions = _check_argnums(argnums, len(args))
    inputs = _Inputs(args, positions)
    compiled = find(inputs.args, positions, has_aux, kwargs)
    in_sizes = [np.size(leaf) for leaves in inputs.leaves for leaf in leaves]
    total = sum(in_sizes)
    name = _name(find.func)
    itemsize = max([np.result_type(leaf).itemsize for leaves in inputs.leaves for leaf in leaves] or [8])
    if chunk_size is not None:
        chunk = max(1, min(chunk_size, total))
    else:
        # The output's size is known after the first chunk: until then it
        # is taken to be the inputs' (all columns at once for small inputs).
        budget = get_memory_budget()
        chunk = max(1, min(total, budget // (itemsize * 4 * max(total, 1)), CHUNK_ELEMENTS // max(total, 1)))
    columns = []  # per output leaf: list of (rows, out.size) blocks
    output = aux = None
    out_leaves = out_treedef = None
    # A function that changes its arguments in place, or objects' attributes,
    # changes them once, as the plain call does: every chunk but the last runs
    # on copies, and the objects it changed get their attributes back (passes.py).
    guard = _passes.Guard(find.func, compiled)
    if guard.changes:
        executor = None  # (its chunks would run at once on the same objects: here, one after another)
    with _progress.Progress(progress, "jacfwd", name) as report:
        start = 0
        if executor is not None:
            from . import parallel

            output, aux, out_leaves, out_treedef, columns = parallel.jacfwd_chunks(
                executor, compiled, inputs, kwargs, has_aux, chunk, name, report)
        while executor is None:
            stop = min(start + chunk, total)
            args, keywords = guard.arguments(inputs.args, kwargs, last=stop >= total)
            try:
                if pushed is not None and start == 0 and stop >= total:
                    result, out_dot = pushed
                else:
                    result, out_dot = bases.push_basis(compiled.jvp, inputs, start, stop, args, keywords, guard)
            except MemoryError as error:
                if isinstance(error, errors.MemoryBudgetError):
                    raise
                n_out = None if out_leaves is None else sum(leaf.size for leaf in out_leaves)
                raise errors.out_of_memory_error("jacfwd", name, n_out, total, stop - start, error) from None
            finally:
                guard.restore()
            if out_leaves is None:
                output, aux = result if has_aux else (result, None)
                out_leaves, out_treedef = _output_leaves(output)
                n_out = sum(leaf.size for leaf in out_leaves)
                jacobian_bytes = _jacobian_bytes(n_out, inputs)
                if chunk_size is None and n_out and total:
                    chunk = _passes_per_chunk("jacfwd", name, n_out, total, itemsize, jacobian_bytes, n_out, budget)
                    chunk = max(1, min(chunk, CHUNK_ELEMENTS // max(n_out, total)))
                elif jacobian_bytes > get_memory_budget():
                    raise errors.jacobian_too_large_error("jacfwd", name, n_out, total, jacobian_bytes,
                                                          get_memory_budget())
            dots = _leaf_adjoints(out_dot, out_treedef)
            columns.append([np.zeros((stop - start, leaf.size), dtype=leaf.dtype) if dot is None
                            else np.reshape(np.asarray(bases._real(dot)), (stop - start, leaf.size))
                            for dot, leaf in zip(dots, out_leaves, strict=True)])
            report(stop, total)
            start = stop
            if start >= total:
                break
    if len(columns) == 1 and len(out_leaves) == 1 and len(inputs.leaves) == 1 and len(inputs.leaves[0]) == 1:
        # one chunk, one output array, one input array: one transposing copy
        matrices = [[np.array(columns[0][0].T, dtype=np.result_type(inputs.leaves[0][0]), order="C")]]
    elif len(out_leaves) == 1 and len(inputs.leaves) == 1 and len(inputs.leaves[0]) == 1:
        # chunks of one output array and one input array: each written into
        # the Jacobian where it goes (one array of the Jacobian's size, not three)
        matrix = np.empty((columns[0][0].shape[1], total), dtype=np.result_type(inputs.leaves[0][0]))
        start = 0
        for (block,) in columns:
            matrix[:, start:start + block.shape[0]] = block.T
            start += block.shape[0]
        matrices = [[matrix]]
    else:
        # (out.size, in_total) per output leaf, split into one matrix per input leaf
        matrices = []
        per_out = [np.concatenate([c[i] for c in columns], axis=0).T for i in range(len(out_leaves))]
        offset = 0
        for leaves in inputs.leaves:
            per_arg = []
            for leaf in leaves:
                size = np.size(leaf)
                per_arg.append(np.concatenate([m[:, offset:offset + size] for m in per_out], axis=0)
                               .astype(np.result_type(leaf), copy=False))
                offset += size
            matrices.append(per_arg)
    _zero_independent_blocks(matrices, getattr(compiled, "independent", None), output)
    blocks = _assemble(matrices, out_leaves, out_treedef, inputs, isinstance(argnums, int))
    return (blocks, aux) if has_aux else blocks


fast_forward.GENERAL_PATH.update(call=_jacfwd_call, CHUNK_ELEMENTS=CHUNK_ELEMENTS)


def jvp(func: Function, primals: tuple[Any, ...], tangents: tuple[Any, ...], *,
        has_aux: bool = False) -> tuple[Any, ...]:
    """The output of ``func`` at ``primals`` and its Jacobian applied to
    ``tangents``, by the generated forward-mode code.

    Args:
        func: The function to differentiate.
        primals: A tuple with one entry per positional argument of ``func``.
        tangents: A tuple of the same structure and shapes as ``primals``.
        has_aux: ``func`` returns ``(output, aux)``.

    Returns:
        ``(output, tangent_out)``, or ``(output, tangent_out, aux)`` with ``has_aux``.

    Raises:
        TypeError: ``primals`` or ``tangents`` is not a tuple, or a primal is
            not a float array.
        ValueError: The tangents do not match the primals in number,
            structure or shapes.

    Examples:
        >>> import numpy as np, adjoint
        >>> out, tangent = adjoint.jvp(np.sin, (np.array([0.0, 1.0]),), (np.array([1.0, 1.0]),))
        >>> tangent
        array([1.        , 0.54030231])
    """
    _check_function(func, "jvp")
    return _jvp_call(_Finder(func, mode="jvp"), primals, tangents, has_aux)


@_user_errors
def _jvp_call(find, primals, tangents, has_aux):
    if not isinstance(primals, tuple) or not isinstance(tangents, tuple):
        raise TypeError("jvp: expected primals and tangents to be tuples, one entry per argument "
                        f"(got {type(primals).__name__} and {type(tangents).__name__}).")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: expected as many tangents as primals (got {len(tangents)} tangents "
                         f"for {len(primals)} primals).")
    positions = tuple(range(len(primals)))
    inputs = _Inputs(primals, positions)
    batched = []
    for position, (tangent, treedef, leaves) in enumerate(zip(tangents, inputs.treedefs, inputs.leaves,
                                                              strict=True)):
        t_leaves, t_treedef = pytree.flatten(tangent)
        shapes = [np.shape(t) for t in t_leaves]
        expected = [np.shape(leaf) for leaf in leaves]
        if t_treedef != treedef or shapes != expected:
            raise errors.cotangent_mismatch_error(
                f"{treedef!r} with shapes {expected}", f"{t_treedef!r} with shapes {shapes}",
                what=f"tangent {position}")
        batched.append(pytree.unflatten(treedef, [
            np.array(t, dtype=np.result_type(leaf))[None] for t, leaf in zip(t_leaves, leaves, strict=True)]))
    compiled = find(inputs.args, positions, has_aux)
    # (your tangent's zeros are the directions' own: see bases.push_seeds)
    result, out_dot = bases.push_seeds(compiled.jvp, 1, batched, inputs.args, {}, _passes.Guard(find.func, compiled))
    output, aux = result if has_aux else (result, None)
    out_leaves, out_treedef = _output_leaves(output)
    tangent_out = _strip_batch(out_dot, out_treedef, out_leaves)
    return (output, tangent_out, aux) if has_aux else (output, tangent_out)


def hessian(func: Function, argnums: ArgNums = 0, *, sparse: bool = False) -> Function:
    """The Hessian of ``func``: ``jacfwd(jacrev(func, argnums), argnums)``,
    forward mode over the generated reverse-mode code. For one 1-d array
    argument whose Hessian pattern holds at every point and needs fewer
    colours than half its size, calls after the first use compressed
    passes (one per colour) and return the same dense array.

    Args:
        func: A function with a single 0-d output (for a vector output each
            output element gets its own Hessian).
        argnums: An int or a tuple of ints.
        sparse: Return a ``scipy.sparse.csr_matrix`` (argnums one int, for
            one array argument), computed by one pass per chunk of colours
            of a star colouring of the detected pattern (a distance-2 one
            when that needs no more colours).

    Returns:
        A function returning the Hessian, of shape ``output.shape +
        input.shape + input.shape``.

    Raises:
        TypeError: As ``jacrev``.
        ValueError: As ``jacrev``.

    Examples:
        >>> import numpy as np, adjoint
        >>> def f(x):
        ...     return x[0] ** 2 * x[1]
        >>> adjoint.hessian(f)(np.array([1.0, 3.0]))
        array([[6., 2.],
               [2., 0.]])
    """
    _check_function(func, "hessian")
    from . import sparse as _sparse
    if _check_sparse(sparse):
        return _sparse.sparse_hessian(func, argnums, jacrev(func, argnums))
    return _sparse.dense_hessian(func, argnums, jacfwd(jacrev(func, argnums), argnums))
