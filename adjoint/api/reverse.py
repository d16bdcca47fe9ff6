"""Reverse mode: ``jacrev`` runs the generated forward function once, then
the generated backward function over chunks of rows of the output's identity
basis (each chunk built directly, never the full identity); ``vjp``,
``grad`` and ``value_and_grad`` drive the same compiled code."""
import functools
import warnings
from typing import Any, Optional

import numpy as np

from . import progress as _progress
from .. import errors, made, runtime
from . import bases, fast_reverse, pytree, vmap_jacobians
from .repeated import direct_jacobian
from .hints import ArgNums, Function
from .budget import _array_elements, _jacobian_bytes, _passes_per_chunk, get_memory_budget
from .calling import (
    _Finder, _Inputs, _check_argnums, _check_chunk_size, _check_executor, _check_function, _check_progress,
    _check_sparse, _leaf_adjoints, _name, _output_leaves, _user_errors,
)


# ------------------------------------------------------------------ jacrev

def jacrev(func: Function, argnums: ArgNums = 0, *, has_aux: bool = False,
           chunk_size: Optional[int] = None, progress: bool = False, sparse: bool = False,
           executor: Any = None) -> Function:
    """The Jacobian of ``func`` with respect to the arguments at ``argnums``, by
    reverse mode: one forward pass, then the generated backward pass over
    chunks of ``chunk_size`` rows of the output's identity basis.

    Means what ``torch.func.jacrev`` means, on NumPy arrays. Usable as a
    decorator (``@jacrev``, ``@partial(jacrev, argnums=1)``); the result keeps
    ``func``'s name and docstring.

    Args:
        func: A Python function (or a NumPy function with a rule, a bound
            method, a ``functools.partial``, an object with ``__call__``) of
            arrays, floats and pytrees (tuples, lists, dicts, namedtuples) of them.
        argnums: The position of the argument to differentiate with respect to
            (an int, negative values wrap), or a non-empty tuple of positions.
        has_aux: ``func`` returns ``(output, aux)``; ``aux`` is passed through
            undifferentiated.
        chunk_size: Rows of the output's identity basis per backward call:
            ``None`` all at once, ``1`` one at a time. The result does not depend on it.
        progress: Report progress over the chunks on stderr (a bar through
            ``tqdm`` when it is installed, a plain line otherwise).
        sparse: Return ``scipy.sparse.csr_matrix`` blocks of shape
            ``(output size, input size)``, computed by one backward pass per
            chunk of row colours of the detected sparsity pattern (see
            ``adjoint.sparsity``; needs SciPy).
        executor: ``None``, or a ``concurrent.futures.Executor`` (a thread
            pool, a process pool, a Dask client's executor) that runs the
            chunks of rows in parallel; the generated code travels to worker
            processes as source. The result equals the serial one. Give
            ``chunk_size`` too (``None`` picks chunks by the memory budget
            alone, often one). See docs/parallel.md.

    Returns:
        A function taking ``func``'s arguments and returning the Jacobian: one
        block of shape ``output.shape + input.shape`` (the input's dtype) per
        output leaf and selected input leaf, structured as the output, each
        output leaf holding the argument's structure (a tuple of them for tuple
        ``argnums``); ``(jacobian, aux)`` with ``has_aux``.

    Raises:
        TypeError: ``func`` is not callable, ``argnums`` or ``chunk_size`` has
            the wrong type, a selected argument is not a float array, or the
            output is not made of float arrays.
        ValueError: ``argnums`` out of range, empty or repeated, ``chunk_size``
            not positive, or an empty output.
        adjoint.TransformError: ``func`` cannot be differentiated (the message
            names the file and line, what was found and what to do).

    Examples:
        >>> import numpy as np, adjoint
        >>> def f(x, y):
        ...     return np.sin(x) * y
        >>> adjoint.jacrev(f)(np.array([0.0, 1.0]), 2.0)
        array([[2.        , 0.        ],
               [0.        , 1.08060461]])
        >>> dx, dy = adjoint.jacrev(f, argnums=(0, 1))(np.array([0.0, 1.0]), 2.0)
        >>> dy
        array([0.        , 0.84147098])
    """
    _check_function(func, "jacrev")
    _check_chunk_size(chunk_size)
    _check_progress(progress)
    _check_executor(executor)
    if _check_sparse(sparse, progress, executor):
        from . import sparse as _sparse
        return _sparse.sparse_jacrev(func, argnums, has_aux, chunk_size)

    find = _Finder(func)
    direct = None
    if chunk_size is None and not progress and executor is None:
        direct = direct_jacobian(func, argnums, has_aux)  # a derivative: its Jacobian by forward mode

    diagonal = not has_aux and not progress and executor is None and made.vmap_of(func) is not None
    # (one array in, one array out, all rows at once: api/fast_reverse.py)
    common = (direct is None and not diagonal and type(argnums) is int and not has_aux and chunk_size is None
              and not progress and executor is None)

    @functools.wraps(func)
    def jacobian_fn(*args, **kwargs):
        try:
            if common:
                found = fast_reverse.jacobian(find, argnums, args, kwargs)
                if found is not fast_reverse.GENERAL:
                    return found
            if direct is not None:  # (a derivative's Jacobian, by forward mode: api/repeated.py)
                return direct(*args, **kwargs)
            if diagonal:  # (the Jacobian of a vmapped function: api/vmap_jacobians.py)
                found = vmap_jacobians.block_diagonal(func, jacrev, argnums, chunk_size, args, kwargs)
                if found is not None:
                    return found
            return _jacrev_call(find, argnums, has_aux, chunk_size, args, kwargs, progress, executor)
        except errors.MemoryBudgetError as exc:  # (raised inside a composition: name the user's)
            raise errors.retitled(exc, f"jacrev({made.describe(func)})") from None

    made.register(jacobian_fn, func, "jacrev", argnums, has_aux)
    return jacobian_fn


@_user_errors
def _jacrev_call(find, argnums, has_aux, chunk_size, args, kwargs, progress=False, executor=None):
    positions = _check_argnums(argnums, len(args))
    inputs = _Inputs(args, positions)
    compiled = find(inputs.args, positions, has_aux, kwargs)
    result, residuals = compiled.forward(*inputs.args, **kwargs)
    return _jacobian_from(find, argnums, has_aux, chunk_size, inputs, compiled, result, residuals, progress,
                          executor)


def _jacobian_from(find, argnums, has_aux, chunk_size, inputs, compiled, result, residuals, progress=False,
                   executor=None, stacklevel=5):
    """``_jacrev_call`` from the forward pass's ``result`` on (api/fast_reverse.py
    hands its calls that are not the common case here; ``stacklevel`` names the
    user's frame for the warnings)."""
    output, aux = result if has_aux else (result, None)
    out_leaves, out_treedef = _output_leaves(output)
    total = sum(leaf.size for leaf in out_leaves)
    n_in = sum(np.size(leaf) for leaves in inputs.leaves for leaf in leaves)
    name = _name(find.func)
    jacobian_bytes = _jacobian_bytes(total, inputs)
    budget = get_memory_budget()
    if chunk_size is None and total:
        itemsize = max(leaf.dtype.itemsize for leaf in out_leaves)
        chunk_size = _passes_per_chunk("jacrev", name, total, n_in, itemsize, jacobian_bytes,
                                       _array_elements(residuals), budget)
        if chunk_size >= total:
            chunk_size = None
        elif total > n_in:
            warnings.warn(errors.tall_reverse_warning(name, total, n_in, -(-total // chunk_size),
                                                      budget), RuntimeWarning, stacklevel=stacklevel)
    elif jacobian_bytes > budget:
        raise errors.jacobian_too_large_error("jacrev", name, total, n_in, jacobian_bytes, get_memory_budget())
    try:
        if (type(argnums) is int and not has_aux and chunk_size is None and not progress
                and executor is None and inputs.treedefs[0] is pytree.LEAF):
            jacobian = _array_jacobian(compiled, residuals, output, inputs.leaves[0][0])
            if jacobian is not None:
                return jacobian
        with _progress.Progress(progress, "jacrev", name) as report:
            if executor is not None:
                from . import parallel

                jacobian = parallel.jacrev_chunks(executor, compiled, residuals, out_leaves, out_treedef, inputs,
                                                  max(1, min(chunk_size or total, total)), name, report)
            else:
                jacobian = _pull_back_basis(compiled, residuals, out_leaves, out_treedef, inputs, chunk_size,
                                            report)
    except MemoryError as error:
        if isinstance(error, errors.MemoryBudgetError):
            raise
        raise errors.out_of_memory_error("jacrev", name, total, n_in, chunk_size or total, error) from None
    _zero_independent_blocks(jacobian, getattr(compiled, "independent", None), output)
    blocks = _assemble(jacobian, out_leaves, out_treedef, inputs, isinstance(argnums, int))
    return (blocks, aux) if has_aux else blocks


def _array_jacobian(compiled, residuals, output, x):
    """The common case, array in and array out, all rows at once, without
    the pytree bookkeeping; None if the output is not a float array."""
    if not ((type(output) is np.ndarray or type(output) is np.float64) and output.dtype.kind == "f"):
        return None
    bar, = bases.pull_back(compiled.backward, residuals, runtime.identity_rows(output.shape, output.dtype))  # read-only, shared
    shape = output.shape + np.shape(x)
    dtype = np.result_type(x)
    if bar is None:
        return np.zeros(shape, dtype=dtype)
    if type(bar) is np.ndarray and bar.dtype == dtype:  # the common case: a float array, nothing to convert
        result = bar.reshape(shape)
        # (an adjoint that is the basis itself, or a view of it, is read-only: copied)
        return result if result.flags.writeable else result.copy()
    return _result(bar, shape, dtype)


def _result(bar, shape, dtype):
    """An adjoint the backward pass returned, as an array of ``shape`` and
    ``dtype`` that the caller owns: a cotangent broadcast back by a
    reduction is a read-only view, copied here."""
    result = np.reshape(np.asarray(bases._real(bar)), shape).astype(dtype, copy=False)  # (an absent adjoint: zeros)
    return result if result.flags.writeable else result.copy()


def _pull_back_basis(compiled, residuals, out_leaves, out_treedef, inputs, chunk_size, report=None):
    """For every input leaf, the Jacobian as an ``(N, leaf.size)`` matrix
    (``report(done, total)`` is told of each chunk pulled back)."""
    total = sum(leaf.size for leaf in out_leaves)
    chunk = total if chunk_size is None else max(1, min(chunk_size, total))
    if total == 0:  # an empty output: an empty Jacobian, no pass needed
        return [[np.zeros((0, np.size(leaf)), dtype=np.result_type(leaf)) for leaf in leaves]
                for leaves in inputs.leaves]
    if chunk == total:  # one batched call: its adjoints are the matrices
        adjoints = bases.pull_back(compiled.backward, residuals, bases._basis_chunk(out_leaves, out_treedef, 0, total))
        if report is not None:
            report(total, total)
        return [
            [
                np.zeros((total, np.size(leaf)), dtype=np.result_type(leaf)) if bar is None
                else _result(bar, (total, -1), np.result_type(leaf))
                for bar, leaf in zip(_leaf_adjoints(param_bar, treedef), leaves, strict=True)
            ]
            for param_bar, treedef, leaves in zip(adjoints, inputs.treedefs, inputs.leaves, strict=True)
        ]
    matrices = [
        [np.zeros((total, leaf.size), dtype=np.result_type(leaf)) for leaf in leaves]
        for leaves in inputs.leaves
    ]
    for start in range(0, total, chunk):
        stop = min(start + chunk, total)
        seed = bases._basis_chunk(out_leaves, out_treedef, start, stop)
        adjoints = bases.pull_back(compiled.backward, residuals, seed)
        for param_bar, treedef, param_matrices in zip(adjoints, inputs.treedefs, matrices, strict=True):
            for bar, matrix in zip(_leaf_adjoints(param_bar, treedef), param_matrices, strict=True):
                if bar is not None:
                    matrix[start:stop] = np.reshape(bases._real(bar), (stop - start, -1))
        if report is not None:
            report(stop, total)
    return matrices


def _zero_independent_blocks(matrices, independent, output):
    """Exact zeros for the blocks of returned items that cannot depend on an
    argument (the batched backward pass multiplies their zero rows by the
    other items' partial derivatives, which may be infinite or NaN)."""
    if independent is None:
        return
    count, pairs = independent
    if not pairs or not isinstance(output, (tuple, list, dict)) or len(output) != count:
        return
    items = list(output.values()) if isinstance(output, dict) else list(output)
    offsets = [0]
    for item in items:
        offsets.append(offsets[-1] + sum(np.size(leaf) for leaf in pytree.flatten(item)[0]))
    for item, argument in pairs:
        if argument < len(matrices):
            for matrix in matrices[argument]:
                matrix[offsets[item]:offsets[item + 1]] = 0


def _assemble(matrices, out_leaves, out_treedef, inputs, single):
    blocks_per_output = []
    offset = 0
    for leaf in out_leaves:
        rows = slice(offset, offset + leaf.size)
        per_arg = []
        for treedef, leaves, param_matrices in zip(inputs.treedefs, inputs.leaves, matrices, strict=True):
            in_blocks = [
                matrix[rows].reshape(leaf.shape + np.shape(in_leaf))
                for matrix, in_leaf in zip(param_matrices, leaves, strict=True)
            ]
            per_arg.append(pytree.unflatten(treedef, in_blocks))
        blocks_per_output.append(per_arg[0] if single else tuple(per_arg))
        offset += leaf.size
    return pytree.unflatten(out_treedef, blocks_per_output)

# ------------------------------------------------------------------ vjp, grad

def vjp(func: Function, *primals: Any, has_aux: bool = False) -> tuple[Any, ...]:
    """The output of ``func`` at ``primals``, and a function pulling cotangents
    back through it (the vector-Jacobian product).

    The forward pass runs now, once; ``vjp_fn(cotangent)`` may be called any
    number of times and returns one adjoint per primal.

    Args:
        func: The function to differentiate (every argument is differentiated).
        *primals: The arguments, float arrays or pytrees of them.
        has_aux: ``func`` returns ``(output, aux)``.

    Returns:
        ``(output, vjp_fn)``, or ``(output, vjp_fn, aux)`` with ``has_aux``.
        ``vjp_fn`` takes a cotangent with the output's structure and shapes and
        returns a tuple with one entry per primal, shaped like it.

    Raises:
        TypeError: A primal is not a float array.
        ValueError: (from ``vjp_fn``) the cotangent's structure or shapes
            differ from the output's.

    Examples:
        >>> import numpy as np, adjoint
        >>> out, vjp_fn = adjoint.vjp(np.multiply, np.array([1.0, 2.0]), np.array([3.0, 4.0]))
        >>> vjp_fn(np.array([1.0, 10.0]))
        (array([ 3., 40.]), array([ 1., 20.]))
    """
    _check_function(func, "vjp")
    return _vjp_call(_Finder(func), primals, has_aux)


@_user_errors
def _vjp_call(find, primals, has_aux):
    positions = tuple(range(len(primals)))
    # vjp_fn may be called long after this returns: it keeps its own copies
    # of the primals, and hands out a copy of the output, so that changing
    # either in place later cannot change its results.
    given = primals
    primals = tuple(pytree.map_leaves(_copy_array, p) for p in primals)
    inputs = _Inputs(primals, positions)
    compiled = find(inputs.args, positions, has_aux)
    result, residuals = compiled.forward(*inputs.args)
    if getattr(compiled, "augmented_params", None):
        # The function changed its arguments in place (our copies): the
        # caller's arrays change as the plain call changes them.
        for caller, copied in zip(given, primals, strict=True):
            for leaf, new in zip(pytree.flatten(caller)[0], pytree.flatten(copied)[0], strict=True):
                if isinstance(leaf, np.ndarray) and leaf is not new:
                    np.copyto(leaf, new)
    output, aux = result if has_aux else (result, None)
    out_leaves, out_treedef = _output_leaves(output)
    output = pytree.map_leaves(_copy_array, output)
    if has_aux:  # (aux may hold a residual itself: changing it must not change vjp_fn's results)
        residuals = _unshared(residuals, _arrays_in(aux, set(), []))

    @_user_errors
    def vjp_fn(cotangent):
        ct_leaves, ct_treedef = pytree.flatten(cotangent)
        shapes = [np.shape(c) for c in ct_leaves]
        expected = [leaf.shape for leaf in out_leaves]
        if ct_treedef != out_treedef or shapes != expected:
            raise errors.cotangent_mismatch_error(
                f"{out_treedef!r} with shapes {expected}", f"{ct_treedef!r} with shapes {shapes}"
            )
        for path, leaf in enumerate(ct_leaves):
            if np.iscomplexobj(leaf):
                raise errors.complex_error("cotangent leaf ", path)
            if not isinstance(leaf, (int, float, np.ndarray, np.generic)) or np.asarray(leaf).dtype.kind not in "fiub":
                raise errors.cotangent_leaf_error(path, leaf)
        seeds = [np.array(c, dtype=leaf.dtype)[None] for c, leaf in zip(ct_leaves, out_leaves, strict=True)]
        try:
            adjoints = bases.pull_back(compiled.backward, residuals, pytree.unflatten(out_treedef, seeds))
        except runtime.MissingRule as exc:
            raise errors.no_rule_that_ran(str(exc)) from None
        return tuple(
            _strip_batch(bar, treedef, leaves)
            for bar, treedef, leaves in zip(adjoints, inputs.treedefs, inputs.leaves, strict=True)
        )

    return (output, vjp_fn, aux) if has_aux else (output, vjp_fn)


def grad(func: Function, argnums: ArgNums = 0, *, has_aux: bool = False) -> Function:
    """The gradient of ``func``, whose output must be a single 0-d value.

    Args:
        func: A function returning one number (a 0-d array or NumPy scalar).
        argnums: An int, or a non-empty tuple of ints (negative values wrap).
        has_aux: ``func`` returns ``(output, aux)``.

    Returns:
        A function returning the gradient, shaped (and structured) like the
        argument at ``argnums`` (a tuple of them for tuple ``argnums``);
        ``(gradient, aux)`` with ``has_aux``.

    Raises:
        TypeError: As ``jacrev``.
        ValueError: As ``jacrev``, and when the output is not a single 0-d
            value (use ``jacrev``, or reduce the output).

    Examples:
        >>> import numpy as np, adjoint
        >>> def energy(x):
        ...     return np.sum(x ** 2) / 2.0
        >>> adjoint.grad(energy)(np.array([1.0, -2.0]))
        array([ 1., -2.])
    """
    _check_function(func, "grad")
    find = _Finder(func)

    @functools.wraps(func)
    def grad_fn(*args, **kwargs):
        return _grad_call(find, argnums, has_aux, args, kwargs)

    made.register(grad_fn, func, "grad", argnums, has_aux)
    return grad_fn


def value_and_grad(func, argnums=0, *, has_aux=False):
    """``grad``, returning the value of ``func`` too, from the same forward pass.

    The convention is JAX's (``jax.value_and_grad``); ``torch.func.grad_and_value``
    returns the pair the other way round.

    Args:
        func: A function returning one number (a 0-d array or NumPy scalar).
        argnums: An int, or a non-empty tuple of ints (negative values wrap).
        has_aux: ``func`` returns ``(output, aux)``.

    Returns:
        A function returning ``(value, gradient)``, or ``((value, aux),
        gradient)`` with ``has_aux``; the gradient as ``grad`` gives it.

    Raises:
        TypeError: As ``grad``.
        ValueError: As ``grad``.

    Examples:
        >>> import numpy as np, adjoint
        >>> def loss(w):
        ...     return np.sum((w - 1.0) ** 2)
        >>> value, gradient = adjoint.value_and_grad(loss)(np.array([0.0, 3.0]))
        >>> float(value), gradient
        (5.0, array([-2.,  4.]))
    """
    _check_function(func, "value_and_grad")
    find = _Finder(func)

    @functools.wraps(func)
    def value_and_grad_fn(*args, **kwargs):
        return _grad_call(find, argnums, has_aux, args, kwargs, with_value=True)

    made.register(value_and_grad_fn, func, "value_and_grad", argnums, has_aux)
    return value_and_grad_fn


@_user_errors
def _grad_call(find, argnums, has_aux, args, kwargs, with_value=False):
    positions = _check_argnums(argnums, len(args))
    x = args[positions[0]] if type(argnums) is int and not has_aux else None
    if type(x) is np.ndarray and x.dtype == np.float64:
        # The common case, one float64 array in and a float64 out, without
        # the pytree bookkeeping.
        compiled = find(args, positions, False, kwargs)
        result, residuals = compiled.forward(*args, **kwargs)
        if type(result) is np.float64:
            bar, = bases.pull_back(compiled.backward, residuals, runtime.identity_rows((), np.float64))  # ones(1), shared
            if type(bar) is np.ndarray and bar.dtype == np.float64 and bar.flags.writeable:
                gradient = bar.reshape(x.shape)
            else:
                gradient = _strip_batch(bar, pytree.LEAF, [x])
            return (result, gradient) if with_value else gradient
        inputs = _Inputs(args, positions)  # takes the arguments as they are
    else:
        inputs = _Inputs(args, positions)
        compiled = find(inputs.args, positions, has_aux, kwargs)
        result, residuals = compiled.forward(*inputs.args, **kwargs)
    output, aux = result if has_aux else (result, None)
    out_leaves, out_treedef = _output_leaves(output)
    if out_treedef.kind != "leaf" or out_leaves[0].ndim != 0:
        what = (f"shape {out_leaves[0].shape}" if out_treedef.kind == "leaf"
                else f"a {out_treedef!r} container")
        raise errors.non_scalar_grad_error(what)
    adjoints = bases.pull_back(compiled.backward, residuals, np.ones((1,), dtype=out_leaves[0].dtype))
    gradients = tuple(
        _strip_batch(bar, treedef, leaves)
        for bar, treedef, leaves in zip(adjoints, inputs.treedefs, inputs.leaves, strict=True)
    )
    if isinstance(argnums, int):
        gradients = gradients[0]
    if with_value:
        value = pytree.map_leaves(_copy_array, output)
        return ((value, aux), gradients) if has_aux else (value, gradients)
    return (gradients, aux) if has_aux else gradients


def _copy_array(leaf):
    return leaf.copy() if isinstance(leaf, np.ndarray) else leaf


def _arrays_in(value, seen, found, depth=0):
    """``found`` with the arrays ``value`` holds: through tuples, lists, sets,
    dicts and the attributes of objects (``aux`` of vjp)."""
    if id(value) in seen or depth > 20 or len(found) > 1000:
        return found
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        found.append(value)
    elif isinstance(value, (tuple, list, set, frozenset)):
        for item in value:
            _arrays_in(item, seen, found, depth + 1)
    elif isinstance(value, dict):
        for item in value.values():
            _arrays_in(item, seen, found, depth + 1)
    elif not isinstance(value, type) and isinstance(getattr(value, "__dict__", None), dict):
        for item in vars(value).values():
            _arrays_in(item, seen, found, depth + 1)
    return found


def _unshared(residuals, arrays):
    """``residuals`` with a copy of each array (in its tuples, lists and
    dicts) that may share memory with one of ``arrays``."""
    if not arrays:
        return residuals
    if isinstance(residuals, np.ndarray):
        return residuals.copy() if any(np.may_share_memory(residuals, a) for a in arrays) else residuals
    if type(residuals) in (tuple, list):
        return type(residuals)(_unshared(r, arrays) for r in residuals)
    if type(residuals) is dict:
        return {k: _unshared(r, arrays) for k, r in residuals.items()}
    return residuals


def _strip_batch(param_bar, treedef, leaves):
    """A parameter's adjoint for a batch of one, without the batch axis, with
    the parameter's structure, dtypes and zeros where it got no adjoint."""
    if treedef is pytree.LEAF:
        leaf = leaves[0]
        if param_bar is None:
            return np.zeros(np.shape(leaf), dtype=np.result_type(leaf))
        return _result(param_bar, np.shape(leaf), np.result_type(leaf))
    leaf_bars = [
        np.zeros(np.shape(leaf), dtype=np.result_type(leaf)) if bar is None
        else _result(bar, np.shape(leaf), np.result_type(leaf))
        for bar, leaf in zip(_leaf_adjoints(param_bar, treedef), leaves, strict=True)
    ]
    return pytree.unflatten(treedef, leaf_bars)


fast_reverse.GENERAL_PATH.update(jacobian_from=_jacobian_from, result=_result)
