"""Deterministic, readable names for generated code.

Every name the user's function mentions is taken up front, so a generated
name never shadows one of the user's. Names derive from the user's: the
second version of ``h`` is ``h_1``, the adjoint of ``h`` is ``h_bar``,
temporaries are ``t1, t2, ...`` in order of appearance. The same function
always gets the same names.
"""
from .gastutil import all_names


def names_in(node):
    return all_names(node)


class Namer:
    def __init__(self, taken):
        self.taken = set(taken)
        self.temp_count = 0

    def fresh(self, base):
        """``base`` if free, else ``base_1``, ``base_2``, ..."""
        if base not in self.taken:
            self.taken.add(base)
            return base
        stem, _, suffix = base.rpartition("_")
        if not (stem and suffix.isdigit()):
            stem = base
        n = 1
        while f"{stem}_{n}" in self.taken:
            n += 1
        name = f"{stem}_{n}"
        self.taken.add(name)
        return name

    def temp(self):
        while True:
            self.temp_count += 1
            name = f"t{self.temp_count}"
            if name not in self.taken:
                self.taken.add(name)
                return name

    def reserve(self, preferred):
        """A module-level name for generated code (``np``, ``rt``) that the
        user's function does not use for something else."""
        return self.fresh(preferred)
