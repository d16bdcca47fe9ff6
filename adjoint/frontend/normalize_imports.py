"""``import m`` and ``from m import name`` inside a differentiated function
(a thin hook in normalize.py): each name is bound, for the whole function,
to what the import gives (Python caches modules, so this is the object the
statement binds when the function runs), and read as a global. A name the
function also assigns, a relative import and ``import *`` are left to the
refusal of statements without support."""
import importlib

import gast
from .gastutil import walk as walk_tree


def _stored_names(function_node):
    """Names the function binds other than by an import."""
    return {child.id for child in walk_tree(function_node)
            if isinstance(child, gast.Name) and isinstance(child.ctx, (gast.Store, gast.Del))}


def _imported(stmt):
    """(name, value) pairs the import binds, or None if it cannot be read now."""
    try:
        if isinstance(stmt, gast.Import):
            pairs = []
            for alias in stmt.names:
                module = importlib.import_module(alias.name)
                if alias.asname:
                    pairs.append((alias.asname, module))
                else:  # import a.b binds a
                    top = alias.name.split(".")[0]
                    pairs.append((top, importlib.import_module(top)))
            return pairs
        if stmt.level or stmt.module is None or any(alias.name == "*" for alias in stmt.names):
            return None
        module = importlib.import_module(stmt.module)
        pairs = []
        for alias in stmt.names:
            if hasattr(module, alias.name):
                value = getattr(module, alias.name)
            else:  # from package import submodule
                value = importlib.import_module(f"{stmt.module}.{alias.name}")
            pairs.append((alias.asname or alias.name, value))
        return pairs
    except ImportError:
        return None


def bind_local_import(normalizer, stmt):
    """Bind the names of an import statement of the function as constants;
    False (nothing bound) for a form left to be refused."""
    pairs = _imported(stmt)
    if pairs is None or any(name in _stored_names(normalizer.parsed.node) for name, _ in pairs):
        return False
    for name, value in pairs:
        normalizer.resolver.constants[name] = value
    return True
