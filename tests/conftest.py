from __future__ import annotations

import os
from pathlib import Path

import pytest

import tokentrail  # noqa: F401 - first, so that TOKENTRAIL_PURE_PYTHON=1 applies to every later import
from tokentrail.compiled import OURS, SOURCES

ROOT = Path(__file__).resolve().parent.parent
# TOKENTRAIL_PURE_PYTHON=1: the suite runs the .py sources even where compiled modules sit beside
# them (tokentrail/__init__.py installs the finder), as on a machine without a C compiler.


def _stale_compiled() -> list[str]:
    """What an edit since the last build left behind: sources newer than the compiled library, and
    compiled stubs of modules no longer in tokentrail/compiled.py."""
    stubs = [so for top in sorted(OURS) for so in (ROOT / top).glob("**/*.so")]
    libs = list(ROOT.glob("*__mypyc.*so"))  # mypyc puts the code of all modules in one library
    if not stubs:
        return []
    if not libs:
        return ["the mypyc library next to them is missing"]
    built = max(lib.stat().st_mtime for lib in libs)
    stale = [s for s in SOURCES if (ROOT / s).stat().st_mtime > built]
    listed = {ROOT / s for s in SOURCES}
    stale += [str(so.relative_to(ROOT)) for so in stubs
              if so.with_name(so.name.split(".cpython-")[0] + ".py") not in listed]
    return stale


def pytest_configure(config):
    stale = [] if os.environ.get("TOKENTRAIL_PURE_PYTHON") else _stale_compiled()
    if stale:
        pytest.exit(f"compiled modules older than their source: {', '.join(stale[:5])}. Run `make test` (it "
                    "recompiles what changed) or `make clean`.", returncode=4)


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", help="rewrite tests/golden/*-expected.json")
