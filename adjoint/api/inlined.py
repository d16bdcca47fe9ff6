"""A derivative function with the generated forward and backward passes
written into it, for the next transform to read as one function.

``derivatives.derivative_function`` writes ``f_jacrev`` (or ``f_grad``) as
calls of the generated ``f_forward`` and ``f_backward``. Transformed again
(``hessian(f)``, ``jacrev(jacrev(f))``, ``vmap(grad(f))``), each call is
transformed on its own: the forward pass must return the tangents of all its
residuals, packed in a tuple and unpacked again, although the backward pass
reads some residuals for their shapes alone. Written as one function::

    def f_jacrev(x):
        # forward pass of f (...)
        # line 2: ...
        t1 = ...
        out = np.sum(t3)
        out_bar = rt.output_basis(out)
        # backward pass: adjoints of x
        # line 2: ...
        t3_bar = rt.unreduce(out_bar, t3)
        ...
        return rt.jacobian_from_rows(x_bar, out, x)

the next transform sees every statement at once: tangents nothing reads are
not computed, no residual tuple is built, no call is made.

The statements are copied as text, with their ``# line N:`` comments, so
that errors still name the user's line. Used only where that is plainly the
same program (``inlined_text`` says when): a forward pass ending in
``return out, (names...)``, a backward pass starting with ``names... =
residuals`` for the very same names, one return each, and no global of
one pass that the other binds as a local. Otherwise the calls are written.
"""
import ast

from .. import errors
from ..frontend.gastutil import walk as walk_tree


def _names(node):
    return {n.id for n in walk_tree(node) if isinstance(n, ast.Name)}


def _stored(node):
    stored = {n.id for n in walk_tree(node) if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del))}
    for n in walk_tree(node):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stored.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            stored.update((a.asname or a.name).split(".")[0] for a in n.names)
    return stored


def _plain(function):
    """One return, as the last statement; no global/nonlocal, yield or await."""
    returns = 0
    for node in walk_tree(function):
        if isinstance(node, (ast.Global, ast.Nonlocal, ast.Yield, ast.YieldFrom, ast.Await)):
            return False
        if isinstance(node, ast.Return):
            returns += 1
    return returns == 1 and isinstance(function.body[-1], ast.Return) and function.body[-1].value is not None


_CONTAINER_NODES = (ast.List, ast.Tuple, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)
_CONTAINER_CALLS = {"list", "tuple", "dict", "set", "sorted", "zip", "map", "filter", "reversed", "enumerate"}


def _containers(function):
    """The names ``function`` binds to a list, tuple, dict or set it builds
    (a display, a comprehension, a builtin's result, or the same joined)."""
    def built(value):
        if isinstance(value, _CONTAINER_NODES):
            return True
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in _CONTAINER_CALLS:
            return True
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr in (
                "make_list", "make_dict", "make_tuple", "append", "copy"):
            return True
        return isinstance(value, ast.BinOp) and (built(value.left) or built(value.right))

    names = set()
    for node in walk_tree(function):
        if isinstance(node, ast.Assign) and built(node.value):
            for target in node.targets:
                names |= {n.id for n in walk_tree(target) if isinstance(n, ast.Name)}
    return names


def _function(tree, name):
    found = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name]
    return found[0] if len(found) == 1 else None


def _positional(function):
    args = function.args
    if args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs:
        return None
    return [a.arg for a in args.args]


def _with_comments(lines, function):
    """The index in ``lines`` of the first statement of ``function``, or of
    the comment lines right above it (its header is a line of its own)."""
    start = function.body[0].lineno - 1
    while start - 1 >= function.lineno and lines[start - 1].lstrip().startswith("#"):
        start -= 1
    return start


def inlined_text(name, kind, params, positions, argnums, has_aux, compiled):
    """``(text, own)``: the source of ``{name}_{kind}`` with the passes of
    ``compiled`` (a CompiledVJP of the function) written into it, and the
    numbers of the lines it adds itself (no user line); None when the
    passes do not have the plain form described in the module docstring
    (the caller then writes the calls). The function is to run in
    ``compiled.namespace``, whose globals ``compiled.is_current`` refreshes."""
    if kind not in ("jacrev", "grad") or has_aux:
        return None
    source = getattr(compiled, "source", None)
    namespace = getattr(compiled, "namespace", None)
    rt = getattr(compiled, "rt_name", None)
    forward_fn, backward_fn = getattr(compiled, "forward", None), getattr(compiled, "backward", None)
    if not isinstance(source, str) or not isinstance(namespace, dict) or not isinstance(rt, str):
        return None
    if getattr(forward_fn, "__globals__", None) is not namespace or getattr(
            backward_fn, "__globals__", None) is not namespace:
        return None
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    forward = _function(tree, forward_fn.__name__)
    backward = _function(tree, backward_fn.__name__)
    if forward is None or backward is None or not _plain(forward) or not _plain(backward):
        return None
    if _positional(forward) != list(params) or len(_positional(backward) or ()) != 2:
        return None
    residuals_name, seed_name = _positional(backward)
    # the forward pass: ``return out, (residual names...)``
    value = forward.body[-1].value
    if not (isinstance(value, ast.Tuple) and len(value.elts) == 2 and isinstance(value.elts[0], ast.Name)
            and isinstance(value.elts[1], ast.Tuple)
            and all(isinstance(e, ast.Name) for e in value.elts[1].elts)):
        return None
    out_name = value.elts[0].id
    saved = [e.id for e in value.elts[1].elts]
    # the backward pass: ``residual names... = residuals`` first (nothing when none are saved)
    body = backward.body
    first = body[0]
    if (isinstance(first, ast.Assign) and len(first.targets) == 1 and isinstance(first.value, ast.Name)
            and first.value.id == residuals_name):
        target = first.targets[0]
        if not (isinstance(target, ast.Tuple) and [getattr(e, "id", None) for e in target.elts] == saved):
            return None
        unpack_end = first.end_lineno
        rest = body[1:]
    elif not saved:
        unpack_end = backward.body[0].lineno - 1
        rest = body
    else:
        return None
    returned = body[-1].value
    if not (isinstance(returned, ast.Tuple) and len(returned.elts) == len(positions)):
        return None
    if _containers(forward) & set(saved):
        # (the next transform would see the backward pass's ``g * items`` on a
        # list it now knows, and take it for a repetition of the list)
        return None
    rest_module = ast.Module(body=rest, type_ignores=[])
    if residuals_name in _names(rest_module) and residuals_name not in saved:
        return None  # (the tuple itself read again)
    # The backward pass reads only the saved names, its own and globals; the
    # forward pass's other names are dead once it returns. So a global of
    # either pass must not be a name the other one binds (it would become
    # that local in the joined function).
    forward_stored = _stored(forward) | set(params)
    forward_globals = _names(forward) - forward_stored
    backward_stored = _stored(rest_module) | {seed_name}
    backward_globals = _names(rest_module) - backward_stored - set(saved)
    function_name = f"{name}_{kind}"
    # (and the last line reads the output and the parameters after the backward pass)
    if (backward_globals & forward_stored or backward_stored & forward_globals
            or backward_stored & ({out_name} | set(params)) or function_name in _names(forward) | _names(rest_module) or function_name in namespace):
        return None
    lines = source.splitlines()
    forward_body = lines[_with_comments(lines, forward):forward.body[-1].lineno - 1]
    header = lines[_with_comments(lines, backward):backward.body[0].lineno - 1]  # (comments)
    backward_body = lines[unpack_end if rest is not body else backward.body[0].lineno - 1:body[-1].lineno - 1]
    seed = f"{rt}.scalar_seed({out_name})" if kind == "grad" else f"{rt}.output_basis({out_name})"
    helper = "gradient_from_row" if kind == "grad" else "jacobian_from_rows"
    blocks = [f"{rt}.{helper}({ast.unparse(bar)}, {out_name}, {params[p]})"
              for bar, p in zip(returned.elts, positions, strict=True)]
    result = blocks[0] if isinstance(argnums, int) else f"({', '.join(blocks)},)"
    text_lines = [f"def {function_name}({', '.join(params)}):"]
    text_lines += forward_body + header
    own = [len(text_lines) + 1]  # (lines of this function's own: no user line)
    text_lines.append(f"    {seed_name} = {seed}")
    text_lines += backward_body
    own.append(len(text_lines) + 1)
    text_lines.append(f"    return {result}")
    text = "\n".join(text_lines) + "\n"
    try:
        ast.parse(text)
    except SyntaxError:  # (a statement spread over lines in a way this did not expect)
        return None
    return text, own


def register(filename, text, own, compiled):
    """The user's lines of the copied statements, for errors raised in them."""
    from ..backend.compile import register_lines

    entry = errors.USER_LINES.get(compiled.filename)
    if entry is None:
        return
    register_lines(filename, text, entry[0])
    registered = errors.USER_LINES.get(filename)
    if registered is not None:
        for number in own:
            registered[1].pop(number, None)
