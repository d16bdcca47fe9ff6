"""The types in the public API's signatures (the package ships ``py.typed``).

Arrays, pytrees of arrays and the Jacobians built from them are ``Any``:
an argument may be a NumPy array, a Python number, or a tuple, list, dict or
namedtuple of them, and a result mirrors the structures it was built from.
"""
from typing import Any, Callable, Literal, Optional, TypeVar, Union

#: ``argnums``: one position or a tuple of positions (negative values wrap).
ArgNums = Union[int, tuple[int, ...]]

#: ``in_dims`` / ``out_dims`` of vmap: an int, None, or a (nested) tuple,
#: list or dict of them matching the arguments' (or outputs') structure.
Dims = Union[int, None, tuple[Any, ...], list[Any], dict[Any, Any]]

#: The code ``source`` shows: reverse mode, forward mode, or batched.
Mode = Literal["vjp", "jvp", "vmap"]

#: A maker of ``defvjp`` / ``defjvp``: ``maker(ans, *args, **kwargs)`` returns
#: the function from a cotangent (or tangent) to the argument's contribution.
Maker = Optional[Callable[..., Callable[[Any], Any]]]

Function = Callable[..., Any]
F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
