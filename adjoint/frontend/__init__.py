"""The front end: a Python function -> the normalized form every transform reads.

``parse`` (function -> gast tree), ``resolve`` (names -> live objects),
``lower`` (early returns, break and continue as flags), ``normalize`` with
``normalize_calls`` (and ``normalize_arguments``, ``normalize_inline``,
``normalize_call_forms``), ``normalize_flow`` and ``normalize_inplace`` (A-normal
form: one primitive application per assignment, SSA versions through
branches and loops, in-place updates as ops) and ``ir`` (the ops that form
produces), ``naming`` (readable, unique names for the code written).
Nothing here knows which transform will run.
"""
