"""Signatures of rule templates, made once per template.

A transform asks a rule's signature for each call it meets (which argument
is ``dtype``, which ones a tangent rule reads); ``inspect.signature`` builds
it anew each time, a few per cent of a first call. Rule templates are plain
functions, so the signature of each is kept, keyed by the function itself
(a rule registered anew is another function, another key).
"""
import functools
import inspect


@functools.lru_cache(maxsize=4096)
def _call_signature(rule):
    return inspect.Signature(list(inspect.signature(rule).parameters.values())[1:])


def call_signature(rule):
    """``inspect.Signature`` of the parameters a call binds: all of
    ``rule``'s but the first (the result ``z``). Raises what
    ``inspect.signature`` raises (TypeError, ValueError)."""
    try:
        return _call_signature(rule)
    except TypeError:
        if getattr(type(rule), "__hash__", None) is not None:
            raise  # (inspect's own TypeError: no signature)
        return inspect.Signature(list(inspect.signature(rule).parameters.values())[1:])
