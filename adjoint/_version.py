"""The package's version, written in one place: setup.cfg's ``version``.

An installed copy reads it from its distribution's metadata (which setup.cfg
produced when it was built). A copy imported from a source checkout that is
not what the metadata describes (no install at all, an editable install made
before setup.cfg last changed, or another checkout installed) reads the
setup.cfg next to it.
"""
import configparser
import os
from importlib import metadata

DISTRIBUTION = "adjoint"
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _installed_version():
    """The metadata's version, if that distribution installed this very copy."""
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None
    installed = os.path.join(str(dist.locate_file("")), "adjoint", "__init__.py")
    here = os.path.join(PACKAGE_DIR, "__init__.py")
    try:
        same = os.path.samefile(installed, here)
    except OSError:  # the distribution's files are elsewhere (an editable install's finder)
        same = False
    return dist.version if same else None


def _checkout_version():
    """The version in the setup.cfg of the source tree this copy lies in."""
    config = configparser.ConfigParser(interpolation=None)
    if not config.read(os.path.join(os.path.dirname(PACKAGE_DIR), "setup.cfg")):
        return None
    if config.get("metadata", "name", fallback=None) != DISTRIBUTION:
        return None
    return config.get("metadata", "version", fallback=None)


# Neither (a copy outside any checkout that no distribution installed): say so
# rather than borrow the version of another copy.
__version__ = _installed_version() or _checkout_version() or "0+unknown"
