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
    """The version of the distribution that installed this very copy, if any.

    Several may be on sys.path (an unpacked sdist's ``adjoint.egg-info`` in
    the current folder, another checkout's editable install): the one whose
    files are this copy's counts."""
    here = os.path.join(PACKAGE_DIR, "__init__.py")
    for dist in metadata.distributions(name=DISTRIBUTION):
        installed = os.path.join(str(dist.locate_file("")), "adjoint", "__init__.py")
        try:
            if os.path.samefile(installed, here):
                return dist.version
        except OSError:  # its files are elsewhere (an editable install's finder)
            continue
    return None


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
