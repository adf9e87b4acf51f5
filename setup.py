"""Build: the hot path (tokentrail/compiled.py) compiled with mypyc when a C compiler is there.

Everything else is in pyproject.toml. Without mypyc or a compiler, or with TOKENTRAIL_PURE_PYTHON=1,
the package installs as plain Python: same code, same behaviour, about half the throughput.
"""

from __future__ import annotations

import os
import runpy
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

SOURCES = runpy.run_path(os.path.join("tokentrail", "compiled.py"))["SOURCES"]


def _say(message: str) -> None:
    print(f"tokentrail build: {message}", file=sys.stderr)


def ext_modules() -> list:
    if os.environ.get("TOKENTRAIL_PURE_PYTHON"):
        _say("TOKENTRAIL_PURE_PYTHON is set: installing pure Python")
        return []
    try:
        from mypyc.build import mypycify

        # follow-imports=silent: the modules they import are read for types, not compiled or judged.
        return mypycify(["--ignore-missing-imports", "--follow-imports=silent", *SOURCES], opt_level="3",
                        debug_level="0")
    except (Exception, SystemExit) as exc:  # mypyc reports type errors by exiting
        _say(f"cannot compile with mypyc ({exc!r}): installing pure Python")
        return []


class OptionalBuildExt(build_ext):
    """A failed C build leaves a working pure-Python install, never a broken one."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - a compiler missing or failing: fall back
            _say(f"C build failed ({exc}): installing pure Python")
            self.extensions = []


setup(ext_modules=ext_modules(), cmdclass={"build_ext": OptionalBuildExt})
