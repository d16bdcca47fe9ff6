"""``vmap``: the batching transform of SPEC.md section 3, with torch.func's
meaning. The arguments' batch dimensions (``in_dims``) are moved to the
front, the generated batched code runs once on the whole batch (in chunks
of ``chunk_size`` examples), and the results' batch axes are moved to
``out_dims``. A vmap of a vmap merges the two batch axes into one, so the
function's batched code still runs once."""
import copy
import functools
import types
from typing import Optional

import numpy as np

from ..backend import cache
from . import derivatives, pytree
from .hints import Dims, Function
from .. import errors, made, rules, runtime
from ..frontend import parameter_kinds
from ..frontend.ir import arity_of


def vmap(func: Function, in_dims: Dims = 0, out_dims: Dims = 0, *,
         chunk_size: Optional[int] = None) -> Function:
    """``func`` mapped over a batch dimension of its arguments, as
    ``torch.func.vmap``: the generated batched code calls NumPy once per
    operation on the whole batch.

    Args:
        func: The function to map (a derivative made by a transform too).
        in_dims: An int, None, or a tuple with one entry per positional argument
            (each an int, None, or a pytree prefix of that argument): the axis
            mapped over, None for an argument shared by the whole batch.
        out_dims: An int (or a tuple, one per output): where the batch axis
            goes in the results; None for an output that is the same for
            every example (one value, without a batch axis; an output that
            differs between the examples raises ValueError).
        chunk_size: Examples per call of the batched code (``None``: all).

    Returns:
        The batched function. Over zero examples its results have a batch
        axis of length 0, and no caller's array changes (the batched code
        runs on copies of the shared arguments, as a loop over no example
        would call nothing); when the batched code needs an example to learn
        their shapes (a derivative's output basis), ``func`` runs once on an
        example of zeros and copies of the other arguments, whose results
        give the shapes and dtypes.

    Raises:
        TypeError: ``func`` is not callable, or ``in_dims``, ``out_dims`` or
            ``chunk_size`` has the wrong type; ``func`` is a derivative
            (``jacrev(f)``) and an argument it differentiates is not floating
            point, as without vmap.
        ValueError: Mapped arguments disagree on the batch size, or
            ``chunk_size`` is not positive.

    Examples:
        >>> import numpy as np, adjoint
        >>> def norm(x):
        ...     return np.sqrt(np.sum(x ** 2))
        >>> adjoint.vmap(norm)(np.array([[3.0, 4.0], [6.0, 8.0]]))
        array([ 5., 10.])
        >>> adjoint.vmap(adjoint.grad(norm))(np.array([[3.0, 4.0], [6.0, 8.0]]))
        array([[0.6, 0.8],
               [0.6, 0.8]])
    """
    if not callable(func):
        raise errors.not_a_function_error("vmap", func)
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int)
                                   or chunk_size <= 0):
        raise errors.chunk_size_error(chunk_size)
    _check_dims_type(in_dims, "in_dims")
    _check_dims_type(out_dims, "out_dims")

    found = {}
    # the common case, arrays mapped over their first axis, with no
    # dims to move or check: decided once, here
    plain = type(in_dims) is int and in_dims == 0 and type(out_dims) is int and out_dims == 0 and chunk_size is None

    derivative = made.of(func) is not None  # (its results are real: a complex one is refused)

    @functools.wraps(func)
    def batched_fn(*args, **kwargs):
        result = _batched_fn(*args, **kwargs)
        if derivative and (result.dtype.kind == "c" if type(result) is np.ndarray else _any_complex(result)):
            raise errors.complex_derivative_error()
        return result

    def _batched_fn(*args, **kwargs):
        try:
            if not plain:
                batch = None
            elif len(args) == 1:  # (_plain_batch of one argument, without its call)
                batch = args[0].shape[0] if type(args[0]) is np.ndarray and args[0].ndim else None
            else:
                batch = _plain_batch(args)
            if batch:  # (the fast path of _batched_call; zero examples go there)
                key = (len(args), cache.generation, tuple(kwargs)) if kwargs else (len(args), cache.generation)
                entry = found.get(key)
                if entry is not None and entry[0]():
                    direct = entry[1]
                    if direct is not None:
                        for position in entry[3]:  # (the floating arguments a derivative needs: _checking_floats)
                            if args[position].dtype.kind != "f":
                                direct = None  # (the checked way, which names the argument)
                                break
                    if direct is None:
                        result = entry[2](batch, args, kwargs)
                    else:  # (no ** of an empty dict: a call with keywords binds its arguments the slow way)
                        result = direct(batch, *args, **kwargs) if kwargs else direct(batch, *args)
                    return result if type(result) is np.ndarray else _place_outputs(result, 0)
            return _batched_call(args, kwargs, batch)
        except runtime.InPlaceRefused as exc:  # an update in place that NumPy would show elsewhere
            raise errors.refused_that_ran(str(exc)) from None
        except runtime.ValueRefused as exc:  # a value a helper refused: the user's line first
            raise errors.value_refused_at(exc, errors.user_line_of_traceback(exc.__traceback__)) from None
        except errors.MemoryBudgetError:
            raise
        except errors.TransformError as exc:
            if exc.location is None and exc.construct:  # refused while generated code ran: the user's line
                place = errors.user_line_of_traceback(exc.__traceback__)
                if place is not None:
                    errors.with_location(exc, place)
            elif exc.location is not None:  # refused in generated code differentiated again: the user's line
                errors.located_in_user_code(exc)
            raise
        except MemoryError as exc:  # NumPy's own, in the code of a derivative under vmap
            if made.of(func) is None:
                errors.add_user_line_note(exc, errors.user_line_of_traceback(exc.__traceback__))
                raise
            raise errors.memory_error_in_derivative_code(exc, errors.user_line_of_traceback(exc.__traceback__),
                                             f"vmap of {getattr(func, '__name__', 'the function')}") from None
        except Exception as exc:  # raised in the generated code: name the user's line
            errors.add_user_line_note(exc, errors.user_line_of_traceback(exc.__traceback__))
            raise

    def _batched_call(args, kwargs, batch):
        if batch is not None and not _kind_sensitive(func):  # every argument an array with the same leading axis
            key = (len(args), cache.generation, tuple(kwargs)) if kwargs else (len(args), cache.generation)
            entry = found.get(key)
            if entry is None or not entry[0]():
                run = _batched_function(func, len(args), tuple(range(len(args))), tuple(kwargs))
                if _kind_sensitive(func):  # (made for the kinds of the arguments: frontend/parameter_kinds)
                    return _vmap_call(func, in_dims, out_dims, chunk_size, args, kwargs)
                # (the generated function itself when its result always has the batch axis, called
                # after the check of the floating arguments, inline, of _checking_floats)
                floats = getattr(run, "float_positions", ())
                direct = getattr(run, "unchecked_direct", None) if floats else getattr(run, "direct", None)
                entry = found[key] = (run.is_current, direct, run, floats)
            run = entry[2]
            result = run(batch, args, kwargs) if batch else _run_empty(run, args, (True,) * len(args), kwargs)
            return result if type(result) is np.ndarray else _place_outputs(result, 0)
        return _vmap_call(func, in_dims, out_dims, chunk_size, args, kwargs)

    made.register(batched_fn, func, "vmap", in_dims, out_dims, chunk_size)
    return batched_fn


def _plain_batch(args):
    """The batch size when every argument is an array of at least one axis
    and all share the leading axis's size (vmap's plain case), else None."""
    batch = None
    for a in args:
        if type(a) is not np.ndarray or not a.ndim or (batch is not None and a.shape[0] != batch):
            return None
        batch = a.shape[0]
    return batch


def _check_dims_type(dims, what):
    for leaf in pytree.flatten(dims)[0]:
        if leaf is not None and (isinstance(leaf, bool) or not isinstance(leaf, int)):
            raise ValueError(f"vmap: {what} must be an int, None, or a (nested) tuple of them matching "
                             f"the structure of the {'inputs' if what == 'in_dims' else 'outputs'}, "
                             f"got {dims!r}.")


def _leaf_dims(dims, tree, what, position):
    """One dim (or None) per leaf of ``tree``, from ``dims``, a prefix of it."""
    if dims is None or isinstance(dims, int):
        return [dims] * pytree.flatten(tree)[1].num_leaves
    kinds = {tuple: "tuple", list: "list", dict: "dict"}
    if type(dims) in kinds and isinstance(tree, (tuple, list, dict)) and len(dims) == len(tree) and (
            not isinstance(dims, dict) or set(dims) == set(tree)):
        items = [(dims[k], tree[k]) for k in tree] if isinstance(tree, dict) else list(zip(dims, tree, strict=True))
        found = []
        for sub_dims, sub_tree in items:
            found.extend(_leaf_dims(sub_dims, sub_tree, what, position))
        return found
    raise ValueError(f"vmap: {what} for argument {position} is {dims!r}, which does not match the "
                     f"structure of that argument ({pytree.flatten(tree)[1]!r}): give an int, None, or a "
                     "container of the same structure.")


def _any_complex(result):
    """Whether a leaf of the pytree ``result`` is complex."""
    return any(np.iscomplexobj(leaf) for leaf in pytree.flatten(result)[0])


def _vmap_call(func, in_dims, out_dims, chunk_size, args, kwargs):
    if not args:
        raise ValueError("vmap: the function was called without positional arguments; there is nothing "
                         "to map over.")
    if isinstance(in_dims, tuple):
        if len(in_dims) != len(args):
            raise ValueError(f"vmap: in_dims has {len(in_dims)} entries but the function was called with "
                             f"{len(args)} positional arguments; give one entry per argument.")
        per_arg = in_dims
    else:
        per_arg = (in_dims,) * len(args)
    moved, batched, sizes = [], [], []
    for position, (arg, dims) in enumerate(zip(args, per_arg, strict=True)):
        leaves, treedef = pytree.flatten(arg)
        leaf_dims = _leaf_dims(dims, arg, "in_dims", position)
        new_leaves = []
        for path, leaf, dim in zip(pytree.leaf_paths(treedef), leaves, leaf_dims, strict=True):
            if dim is None:
                new_leaves.append(leaf)
                continue
            if not isinstance(leaf, (np.ndarray, np.generic, float, int)) or isinstance(leaf, bool):
                raise ValueError(f"vmap: argument {position}{path} is a {type(leaf).__name__}, which has no "
                                 "dimension to map over; give it in_dims None.")
            array = np.asarray(leaf)
            if not -array.ndim <= dim < array.ndim:
                raise ValueError(f"vmap: in_dims={dim} for argument {position}{path}, but it has "
                                 f"{array.ndim} dimensions (shape {array.shape}).")
            sizes.append((array.shape[dim], f"argument {position}{path}"))
            new_leaves.append(np.moveaxis(array, dim, 0))
        batched.append(any(d is not None for d in leaf_dims))
        moved.append((treedef, new_leaves, leaf_dims))
    if not sizes:
        raise ValueError("vmap: every input has in_dims None; at least one argument must be mapped over.")
    if len({size for size, _ in sizes}) != 1:
        described = ", ".join(f"{where}: {size}" for size, where in sizes)
        raise ValueError(f"vmap: the mapped dimensions have different sizes ({described}); they must "
                         "all have the same size.")
    batch = sizes[0][0]
    final_args = []
    for (treedef, leaves, leaf_dims), is_batched in zip(moved, batched, strict=True):
        if is_batched:  # a container mapped in part: its other leaves are the same for every example
            leaves = [runtime.to_batched(leaf, batch) if dim is None else leaf
                      for leaf, dim in zip(leaves, leaf_dims, strict=True)]
        final_args.append(pytree.unflatten(treedef, leaves))
    positions = tuple(i for i, b in enumerate(batched) if b)
    inner = func  # (a derivative given objects of the user's classes: vmap(hessian(f, 1), in_dims=(None, 0)))
    while made.of(inner) is not None and made.vmap_of(inner) is None:
        inner = made.of(inner)[0]
    objects = None
    if type(inner) is types.FunctionType:
        from .calling import object_arguments  # objects given with in_dims None (backend/vmap_objects)

        objects = object_arguments(inner, final_args, positions, kwargs)
    noted = parameter_kinds.sensitivity(inner)
    run = _batched_function(func, len(args), positions, tuple(kwargs), objects)
    if type(inner) is types.FunctionType and parameter_kinds.sensitivity(inner) != noted:
        # made again for the kinds of the arguments ([x, y] + a: see frontend/parameter_kinds)
        objects = object_arguments(inner, final_args, positions, kwargs)
        run = _batched_function(func, len(args), positions, tuple(kwargs), objects)
    chunk = batch if chunk_size is None else min(chunk_size, max(batch, 1))
    if batch == 0:
        result = _run_empty(run, final_args, batched, kwargs)
    elif chunk >= batch:
        result = run(batch, final_args, kwargs)
    else:
        parts = []
        for start in range(0, batch, chunk):
            stop = min(start + chunk, batch)
            sliced = [pytree.map_leaves(lambda leaf, a=start, b=stop: leaf[a:b], arg) if flag else arg
                      for arg, flag in zip(final_args, batched, strict=True)]
            parts.append(run(stop - start, sliced, kwargs))
        result = _concatenate(parts)
    return _place_outputs(result, out_dims)


def _run_empty(run, args, batched, kwargs):
    """``run`` over zero examples. The per-example loop over zero examples
    calls nothing, so the batched code runs on copies of the arguments shared
    by the batch and of the keyword arguments: zero examples change no
    caller's array. Batched code that reads one example (the output basis of
    a derivative, a rule's shapes) has none to read, so when the direct run
    fails the function runs on one example of zeros, and the result keeps
    its first zero rows: its shapes and dtypes."""
    shared = [arg if flag else pytree.map_leaves(_copied, arg) for arg, flag in zip(args, batched, strict=True)]
    kwargs = {name: pytree.map_leaves(_copied, value) for name, value in kwargs.items()}
    try:
        return run(0, shared, kwargs)
    except Exception as error:  # noqa: BLE001 (retried below, re-raised if that fails too)
        first = error

    def one(leaf):
        return np.zeros((1,) + np.shape(leaf)[1:], dtype=np.asarray(leaf).dtype)

    dummy = [pytree.map_leaves(one, arg) if flag else pytree.map_leaves(_copied, arg)
             for arg, flag in zip(args, batched, strict=True)]
    try:
        with np.errstate(all="ignore"):
            result = run(1, dummy, kwargs)
    except Exception as second:  # noqa: BLE001 (an example's own error says more than a missing one)
        raise (second if isinstance(first, IndexError) else first) from None
    return pytree.map_leaves(lambda leaf: np.asarray(leaf)[:0], result)


def _copied(leaf):
    """A copy of ``leaf`` that a call may change without the caller seeing it
    (an array, or a mutable object copied deeply where it can be)."""
    if isinstance(leaf, np.ndarray):
        return np.array(leaf, copy=True)
    if leaf is None or isinstance(leaf, (int, float, complex, str, bytes, np.generic, types.FunctionType,
                                         types.BuiltinFunctionType, type)):
        return leaf
    try:
        return copy.deepcopy(leaf)
    except Exception:  # noqa: BLE001 (an object that cannot be copied: passed as it is)
        return leaf


def _concatenate(parts):
    first = parts[0]
    if isinstance(first, dict):
        return {k: _concatenate([p[k] for p in parts]) for k in first}
    if isinstance(first, (tuple, list)):
        return runtime.rebuild_like(first, [_concatenate([p[i] for p in parts]) for i in range(len(first))])
    return np.concatenate([np.asarray(p) for p in parts], axis=0)


def _place_outputs(result, out_dims):
    leaves, treedef = pytree.flatten(result)
    if isinstance(out_dims, (tuple, list)) and treedef.kind in ("tuple", "list", "namedtuple"):
        if len(out_dims) != len(treedef.children):
            raise ValueError(f"vmap: out_dims has {len(out_dims)} entries but the function returns "
                             f"{len(treedef.children)} outputs.")
        dims = _leaf_dims(tuple(out_dims), tuple(result), "out_dims", "")
    elif isinstance(out_dims, dict) and isinstance(result, dict):
        dims = _leaf_dims(out_dims, result, "out_dims", "")  # one dim per item (or a prefix of it)
    elif isinstance(out_dims, (tuple, list, dict)):
        raise ValueError(f"vmap: out_dims={out_dims!r} is a {type(out_dims).__name__}, but the function "
                         f"returns a {treedef!r}: give an int, or a container of the output's structure.")
    else:
        dims = [out_dims] * len(leaves)
    placed = []
    for leaf, dim in zip(leaves, dims, strict=True):
        array = np.asarray(leaf)
        if leaf is not None and array.ndim == 0 and array.dtype.kind not in "biufc":
            raise TypeError(f"vmap: the function returned {leaf!r} (a {type(leaf).__name__}) where an array "
                            "was expected: vmap's outputs must be arrays or numbers. Return other values "
                            "from a function called outside vmap.")
        if array.ndim == 0 or array.dtype == object and leaf is not None and array.shape[:1] and all(
                item is None for item in array.ravel()):
            raise ValueError("vmap: the function returned None (or a container holding None) where an array "
                             "was expected; functions that change an array in place (np.add.at, "
                             "list.append, ...) return None: return the array they changed.")
        if dim is None:
            placed.append(_unmapped(array, 0))
            continue
        if not -array.ndim <= dim < array.ndim:
            raise ValueError(f"vmap: out_dims={dim} but an output has {array.ndim - 1} dimensions "
                             "per example.")
        placed.append(np.moveaxis(array, 0, dim))
    return pytree.unflatten(treedef, placed)


def _unmapped(array, axis):
    """An output whose ``out_dims`` entry is None: one value, which must be
    the same for every example along ``axis`` (a value that differs would
    be the first example's alone, a silently wrong result)."""
    array = np.asarray(array)
    if array.shape[axis] == 0:
        raise ValueError("vmap: out_dims None for an output of a vmap over zero examples: there is no "
                         "example to take its value from. Give an int to keep the batch axis.")
    first = np.take(array, 0, axis=axis)
    if not np.array_equal(array, np.broadcast_to(np.expand_dims(first, axis), array.shape), equal_nan=True):
        raise ValueError("vmap: out_dims None for an output that differs between the examples; None is for "
                         "an output that does not depend on the mapped arguments. Give an int (the axis "
                         "of the batch in that output) instead.")
    return first


def _kind_sensitive(func):
    """Whether a transform of the function ``func`` is of depends on the kinds
    of its arguments (see frontend/parameter_kinds): made by the general path."""
    inner = func
    while made.of(inner) is not None and made.vmap_of(inner) is None:
        inner = made.of(inner)[0]
    return parameter_kinds.sensitivity(inner) > 0


def _batched_function(func, nargs, positions, keywords=(), objects=None):
    """``run(batch, args, kwargs)``: ``func`` on batched arguments (batch
    axis first at ``positions``), returning results with a batch axis
    (``objects``: see cache.get_vmap)."""
    inner = made.vmap_of(func)
    if inner is not None:
        return _nested(inner, nargs, positions)
    if made.of(func) is not None:
        differentiated = _differentiated_positions(func, nargs)
        written = derivatives.derivative_function(func, nargs, "vmap", objects=objects)
        if parameter_kinds.user_objects(objects):  # (a refusal of vmap_objects names the user's line)
            inner = func
            while made.of(inner) is not None:
                inner = made.of(inner)[0]
            written.adjoint_user_function = inner
        run = _batched_function(written, nargs, positions, keywords)
        if differentiated:
            run = _checking_floats(run, differentiated)
        return run if parameter_kinds.user_objects(objects) else _seeds_marked_again(run, func, positions)
    if not isinstance(func, types.FunctionType) and rules.lookup(func) is not None:
        from .calling import _differentiable

        func = _differentiable(func, nargs)
    if not isinstance(func, types.FunctionType):
        def looped(batch, args, kwargs):
            flags = tuple(i in positions for i in range(nargs))
            return runtime.vmap_loop(batch, func, flags, {}, *args, **kwargs)
        looped.is_current = lambda: True
        return looped
    compiled = cache.get_vmap(func, positions, arity=arity_of(func, nargs, keywords), objects=objects)
    vmap_fn = compiled.vmap

    if compiled.out_batched:
        def run(batch, args, kwargs):
            return vmap_fn(batch, *args, **kwargs)
        run.direct = vmap_fn
    else:
        def run(batch, args, kwargs):
            return runtime.to_batched(vmap_fn(batch, *args, **kwargs), batch)

    run.is_current = compiled.is_current
    return run


def _seeds_marked_again(run, func, positions):
    """``run`` (the batched code of the derivative ``func``), where a zero
    tangent or cotangent met an infinite slope, replaced by ``func`` itself
    on each example: its own passes run again with the zeros of the
    identity bases they make marked (api/bases.py), so that a zero a zero
    slope computed gives NaN there and ``vmap(jacrev(f))`` agrees with
    ``jacrev(f)`` example by example. (Marks are lost in some of vmap's
    batched helpers, which read their arguments as plain arrays; this runs
    only where the batched pass met a non-finite slope.)"""
    def again(call, laid_out):
        def marked(*args, **kwargs):
            result, guarded = runtime.noting_guards(call, *args, **kwargs)
            if not guarded:
                return result
            batch, call_args, call_kwargs = (args[0], args[1:], kwargs) if laid_out else args
            if call_kwargs:  # (keywords may be batched: the batched code again, its seeds marked)
                with runtime.guarding_zero_tangents(structural=True):
                    return call(*args, **kwargs)
            return _per_example(func, batch, call_args, positions)
        return marked

    marked = again(run, False)
    marked.is_current = run.is_current
    for name in ("direct", "unchecked_direct"):
        if getattr(run, name, None) is not None:
            setattr(marked, name, again(getattr(run, name), True))
    if hasattr(run, "float_positions"):
        marked.float_positions = run.float_positions
    return marked


def _per_example(func, batch, args, positions):
    """``func`` on each of the ``batch`` examples of ``args`` (batched at
    ``positions``), the results stacked along a new leading axis."""
    results = [func(*[runtime.example(a, row) if i in positions else a for i, a in enumerate(args)])
               for row in range(batch)]
    flat = [pytree.flatten(result) for result in results]
    leaves = [np.stack([np.asarray(leaves[i]) for leaves, _ in flat]) for i in range(len(flat[0][0]))]
    return pytree.unflatten(flat[0][1], leaves)


def _differentiated_positions(func, nargs):
    """The positions of the arguments that the derivative ``func`` (made by
    jacrev, jacfwd, grad, ..., a derivative of a derivative too)
    differentiates: they must be floating point, under vmap as without it."""
    positions = set()
    found = made.of(func)
    while found is not None and found[1] != "vmap":
        inner, _, argnums, _ = found
        positions.update(derivatives.API["check_argnums"](argnums, nargs))
        found = made.of(inner)
    return tuple(sorted(positions))


def _checking_floats(run, positions):
    """``run`` refusing integer and boolean arguments at ``positions``, as the
    derivative refuses them when called without vmap (SPEC.md section 2)."""
    from .calling import _as_input_leaf

    def check(args):
        for position in positions:
            arg = args[position]
            if type(arg) is np.ndarray and arg.dtype.kind == "f":
                continue
            leaves, treedef = pytree.flatten(arg)
            for leaf, path in zip(leaves, pytree.leaf_paths(treedef), strict=True):
                _as_input_leaf(leaf, position, path)

    def checked(batch, args, kwargs):
        check(args)
        return run(batch, args, kwargs)

    direct = getattr(run, "direct", None)
    if direct is not None:
        # (vmap's fast path, arrays only, checks their dtypes at these positions itself, then calls
        # ``direct`` with the arguments laid out)
        checked.float_positions = positions
        checked.unchecked_direct = direct
    checked.is_current = run.is_current
    return checked


def _nested(inner, nargs, positions):
    """The outer vmap of ``vmap(func, in_dims, out_dims)``: the inner batch
    axis is moved next to the outer one and the two are merged, so ``func``'s
    batched code runs once for both."""
    func, in_dims, out_dims, chunk_size = inner

    def run(outer, args, kwargs):
        return _run_nested(func, in_dims, out_dims, nargs, positions, outer, args, kwargs)

    run.is_current = lambda: True
    return run


def _run_nested(func, in_dims, out_dims, nargs, positions, outer, args, kwargs):
    merged_args = []
    per_arg = in_dims if isinstance(in_dims, tuple) else (in_dims,) * nargs
    inner_size = None
    for position, (arg, dims) in enumerate(zip(args, per_arg, strict=True)):
        outer_batched = position in positions
        example = runtime.example(arg, 0) if outer_batched else arg
        leaf_dims = _leaf_dims(dims, example, "in_dims", position)
        if not outer_batched and all(d is None for d in leaf_dims):
            merged_args.append(arg)  # the same for every example of both batches
            continue
        leaves, treedef = pytree.flatten(arg)
        new_leaves = []
        for leaf, dim in zip(leaves, leaf_dims, strict=True):
            array = np.asarray(leaf)
            if not outer_batched:
                array = runtime.to_batched(array, outer)
            if dim is None:
                new_leaves.append(("unmapped", array))
                continue
            if not -(array.ndim - 1) <= dim < array.ndim - 1:
                raise ValueError(f"vmap: in_dims={dim} for argument {position} of the inner vmap, but each "
                                 f"example of the outer vmap has {array.ndim - 1} dimensions there "
                                 f"(shape {array.shape[1:]}).")
            axis = dim + 1 if dim >= 0 else dim
            array = np.moveaxis(array, axis, 1)
            inner_size = array.shape[1]
            new_leaves.append(("mapped", array))
        merged_args.append((treedef, new_leaves))
    if inner_size is None:
        raise ValueError("vmap: the inner vmap maps over no argument.")
    final = []
    merged_positions = []
    for position, entry in enumerate(merged_args):
        if not isinstance(entry, tuple):
            final.append(entry)
            continue
        merged_positions.append(position)
        treedef, leaves = entry
        flat = []
        for kind, array in leaves:
            if kind == "unmapped":
                array = np.broadcast_to(array[:, None], (outer, inner_size) + array.shape[1:])
            flat.append(array.reshape((outer * inner_size,) + array.shape[2:]))
        final.append(pytree.unflatten(treedef, flat))
    result = _batched_function(func, nargs, tuple(merged_positions), tuple(kwargs))(outer * inner_size, final, kwargs)
    split = pytree.map_leaves(lambda leaf: np.reshape(leaf, (outer, inner_size) + np.shape(leaf)[1:]),
                              result)
    # the inner out_dims place the inner axis within each outer example
    return _place_inner(split, out_dims)


def _place_inner(result, out_dims):
    leaves, treedef = pytree.flatten(result)
    dims = list(out_dims) if isinstance(out_dims, (tuple, list)) else [out_dims] * len(leaves)
    placed = []
    for leaf, dim in zip(leaves, dims, strict=True):
        if dim is None:
            placed.append(_unmapped(leaf, 1))
            continue
        per_example_ndim = leaf.ndim - 1
        if not -per_example_ndim <= dim < per_example_ndim:
            raise ValueError(f"vmap: out_dims={dim} but an output has {per_example_ndim - 1} dimensions "
                             "per example.")
        axis = (dim % per_example_ndim) + 1
        placed.append(np.moveaxis(leaf, 1, axis))
    return pytree.unflatten(treedef, placed)
