"""Expanding a rule template into generated statements.

``template_for(fn)`` parses a rule template once. ``Template.expand`` binds
the template's parameters to the atoms of one call, replaces ``bar[z]`` by
the result's adjoint and every parameter by its atom, renames the template's
own temporaries to fresh names, and returns the prelude statements and one
contribution expression per active input. Keyword arguments written
``name=name`` are dropped when the user did not pass ``name`` (the callee's
default applies), which keeps generated calls short.
"""
import functools
import inspect
import textwrap

import gast

from .. import errors
from ..frontend.gastutil import Transformer, clone, load, walk


class Template:
    def __init__(self, fn):
        self.fn = fn
        source = textwrap.dedent(inspect.getsource(fn))
        node = gast.parse(source).body[0]
        self.signature = inspect.signature(fn)
        # (the parameters a call binds: all but the result's; made once, not per call)
        self.call_signature = inspect.Signature(list(self.signature.parameters.values())[1:])
        names = list(self.signature.parameters)
        self.result_param = names[0]
        self.params = names[1:]
        self.defaults = {
            name: p.default for name, p in self.signature.parameters.items()
            if p.default is not inspect.Parameter.empty
        }
        self.body = node.body
        self.global_values = _template_globals(fn, node.body, set(names))
        self.contributed = set()
        for stmt in self.body:
            target = stmt.targets[0] if isinstance(stmt, gast.Assign) else None
            if _is_bar(target):
                self.contributed.add(target.slice.id)

    def bind(self, args, kwargs):
        """Map parameters to atoms; raise TypeError if the call does not fit."""
        bound = self.call_signature.bind(*args, **kwargs)
        supplied = set(bound.arguments)
        bindings = dict(bound.arguments)
        for name in self.params:
            if name not in bindings:
                bindings[name] = gast.Constant(value=self.defaults[name], kind=None)
        return bindings, supplied

    def expand(self, result, result_bar, bindings, supplied, active, namer, module_names):
        """Prelude statements and ``{param: expression}`` for active params."""
        renames = {}
        prelude = []
        contributions = {}
        substitute = _Substitute(self, result, result_bar, bindings, supplied, renames, module_names)
        for stmt in self.body:
            if isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant):
                continue
            target = stmt.targets[0]
            if _is_bar(target):
                param = target.slice.id
                if param in active:
                    contributions[param] = substitute.visit(clone(stmt.value))
                continue
            value = substitute.visit(clone(stmt.value))
            renames[target.id] = namer.temp()
            prelude.append(gast.Assign(targets=[gast.Name(id=renames[target.id], ctx=gast.Store(),
                                                          annotation=None, type_comment=None)],
                                       value=value, type_comment=None))
        return prelude, contributions


#: names every template reads without binding them in the generated code's namespace.
_MARKERS = {"bar", "dot", "vec", "batch", "np", "rt"}


def _template_globals(fn, body, params):
    """The modules and functions a template reads from its own module
    (``special`` in ``special.digamma(x)`` of a SciPy rule), by name: the
    generated code gets them bound under fresh names (``names_for``)."""
    assigned = {t.id for stmt in body if isinstance(stmt, gast.Assign) for t in stmt.targets
                if isinstance(t, gast.Name)}
    found = {}
    for stmt in body:
        for node in walk(stmt):
            if (isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load) and node.id not in params
                    and node.id not in assigned and node.id not in _MARKERS and node.id in fn.__globals__):
                found[node.id] = fn.__globals__[node.id]
    return found


def names_for(template, module_names, namer, extra_globals):
    """``module_names`` extended with the names the generated code reaches
    ``template``'s own globals by (bound in ``extra_globals``, once per value)."""
    if not template.global_values:
        return module_names
    names = dict(module_names)
    for name, value in template.global_values.items():
        bound = next((n for n, v in extra_globals.items() if v is value and n.startswith(name)), None)
        if bound is None:
            bound = namer.fresh(name)
            extra_globals[bound] = value
        names[name] = bound
    return names


def _is_bar(node, marker="bar"):
    return (
        isinstance(node, gast.Subscript)
        and isinstance(node.value, gast.Name)
        and node.value.id == marker
        and isinstance(node.slice, gast.Name)
    )


class TangentTemplate(Template):
    """A forward-mode template: each ``dot[z] = expr`` is one contribution,
    belonging to the inputs whose ``dot[x]`` it reads."""

    def __init__(self, fn):
        super().__init__(fn)
        self.contributed = set()
        for stmt in self.body:
            target = stmt.targets[0] if isinstance(stmt, gast.Assign) else None
            if _is_bar(target, "dot"):
                reads = {n.slice.id for n in walk(stmt.value) if _is_bar(n, "dot")}
                if len(reads) != 1 or target.slice.id != self.result_param:
                    raise errors.AdjointError(
                        f"rule {fn.__name__}: each dot[{self.result_param}] = ... must read the tangent "
                        "of exactly one input.")
                self.contributed.update(reads)

    def expand(self, result, tangents, bindings, supplied, active, namer, module_names):
        """Prelude statements and the contributions of active inputs, as
        ``[(param, expression)]`` in template order. ``tangents(param)``
        gives the expression that stands for ``dot[param]``."""
        renames = {}
        prelude = []
        contributions = []
        substitute = _Substitute(self, result, None, bindings, supplied, renames, module_names, tangents)
        for stmt in self.body:
            if isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant):
                continue
            target = stmt.targets[0]
            if _is_bar(target, "dot"):
                param = next(n.slice.id for n in walk(stmt.value) if _is_bar(n, "dot"))
                if param in active:
                    contributions.append((param, substitute.visit(clone(stmt.value))))
                continue
            if any(_is_bar(n, "dot") for n in walk(stmt.value)):
                raise errors.AdjointError(f"rule {self.fn.__name__}: dot[...] may only be read in dot[z] = ...")
            value = substitute.visit(clone(stmt.value))
            renames[target.id] = namer.temp()
            prelude.append(gast.Assign(targets=[gast.Name(id=renames[target.id], ctx=gast.Store(),
                                                          annotation=None, type_comment=None)],
                                       value=value, type_comment=None))
        return prelude, contributions


class _Substitute(Transformer):
    def __init__(self, template, result, result_bar, bindings, supplied, renames, module_names,
                 tangents=None, marker="dot"):
        self.tangents = tangents
        self.marker = marker
        self.template = template
        self.result = result
        self.result_bar = result_bar
        self.bindings = bindings
        self.supplied = supplied
        self.renames = renames
        self.module_names = module_names

    def visit_Subscript(self, node):
        if self.tangents is not None and _is_bar(node, self.marker):
            return self.tangents(node.slice.id)
        if _is_bar(node):
            if node.slice.id != self.template.result_param:
                raise errors.AdjointError(
                    f"rule {self.template.fn.__name__}: bar[...] may only be read for the result."
                )
            return clone(self.result_bar)
        return self.generic_visit(node)

    def visit_Call(self, node):
        node.keywords = [
            k for k in node.keywords
            if not (isinstance(k.value, gast.Name) and k.value.id == k.arg
                    and k.arg in self.template.params and k.arg not in self.supplied)
        ]
        return self.generic_visit(node)

    def visit_Name(self, node):
        name = node.id
        if name == self.template.result_param:
            return clone(self.result)
        if name in self.bindings:
            return clone(self.bindings[name])
        if name in self.renames:
            return load(self.renames[name])
        if name in self.module_names:
            return load(self.module_names[name])
        return node


class BatchTemplate(Template):
    """A batching template: ``vec[z] = expr``, where ``vec[x]`` is ``x`` with
    a leading batch axis; ``batch`` is the batch size."""

    def __init__(self, fn):
        super().__init__(fn)
        self.batched_params = {n.slice.id for stmt in self.body for n in walk(stmt) if _is_bar(n, "vec")}
        self.batched_params.discard(self.result_param)

    def expand_batch(self, result, batched, bindings, supplied, namer, module_names):
        renames = {}
        prelude = []
        value = None
        substitute = _Substitute(self, result, None, bindings, supplied, renames, module_names, batched, "vec")
        for stmt in self.body:
            if isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant):
                continue
            target = stmt.targets[0]
            if _is_bar(target, "vec"):
                value = substitute.visit(clone(stmt.value))
                continue
            expr = substitute.visit(clone(stmt.value))
            renames[target.id] = namer.temp()
            prelude.append(gast.Assign(targets=[gast.Name(id=renames[target.id], ctx=gast.Store(),
                                                          annotation=None, type_comment=None)],
                                       value=expr, type_comment=None))
        return prelude, value


@functools.lru_cache(maxsize=None)
def batch_template_for(fn):
    return BatchTemplate(fn)


@functools.lru_cache(maxsize=None)
def template_for(fn):
    return Template(fn)


@functools.lru_cache(maxsize=None)
def tangent_template_for(fn):
    return TangentTemplate(fn)
