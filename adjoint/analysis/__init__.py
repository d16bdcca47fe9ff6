"""Analyses of the normalized form, each one pass with its contract:
``activity`` (which names carry derivatives) and ``shapes`` (static shape
equalities). The transforms read their results; they share no state.
"""
