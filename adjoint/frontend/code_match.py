"""Whether two compilations are the same code: the check that the source
read for a function is the code that runs (frontend/parse.py, and the quick
read of one top-level definition in frontend/parse_block.py)."""
import types


def code_objects(module):
    """The code objects of ``module`` and all it holds, by (name, first line)."""
    found = {}
    stack = [module]
    while stack:
        code = stack.pop()
        found.setdefault((code.co_name, code.co_firstlineno), []).append(code)
        stack.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    return found


def same_code(a, b):
    """Whether code objects ``a`` and ``b`` compile the same source."""
    if (a.co_code != b.co_code or a.co_names != b.co_names or a.co_varnames != b.co_varnames
            or a.co_freevars != b.co_freevars or len(a.co_consts) != len(b.co_consts)):
        return False
    for x, y in zip(a.co_consts, b.co_consts):
        if isinstance(x, types.CodeType) or isinstance(y, types.CodeType):
            if not (isinstance(x, types.CodeType) and isinstance(y, types.CodeType) and same_code(x, y)):
                return False
        elif type(x) is not type(y) or (x != y and x == x):  # (nan != nan: the same constant)
            return False
    return True
