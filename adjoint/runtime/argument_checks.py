"""Checks that generated code makes when it runs, of what a transform took
an argument for: an argument whose items the function sets is not a list or
dict (``check_not_container``, normalize_caller_objects), and a value whose
``._replace(...)`` is followed as a namedtuple's is one (``check_namedtuple``,
normalize_calls). Each refuses with a message naming the user's line."""
from .in_place import InPlaceRefused
from .scipy_stats_helpers import ValueRefused


def check_not_container(value, message):
    """Raise ``InPlaceRefused(message)`` if ``value``, an argument whose items
    the function sets, is a list or dict (the caller's would not change)."""
    if isinstance(value, (list, dict)):
        raise InPlaceRefused(message)


def check_namedtuple(value):
    """Refuse ``value._replace(...)`` (followed as a namedtuple's) when ``value`` is not a namedtuple."""
    if not (isinstance(value, tuple) and hasattr(type(value), "_fields")):
        raise ValueRefused(
            f"._replace(...) of a {type(value).__name__}: adjoint follows _replace as a namedtuple's (a new "
            "tuple with the fields named replaced), and this value is not a namedtuple. Call a function that "
            "builds the new value instead.")
