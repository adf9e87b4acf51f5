"""The mypyc build of the hot path (tokentrail/compiled.py, setup.py) and its pure-Python twin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tokentrail import compiled

ROOT = Path(__file__).resolve().parent.parent


def test_no_package_init_is_compiled():
    # setuptools' editable finder loads a package from its __init__.py whatever sits beside it: a
    # compiled __init__ would exist twice, its classes with it.
    assert not [s for s in compiled.SOURCES if s.endswith("__init__.py")]
    assert all((ROOT / s).is_file() for s in compiled.SOURCES)


def test_built_all_or_nothing():
    done = compiled.status()
    if os.environ.get("TOKENTRAIL_TEST_PURE"):
        assert not any(done.values())
        assert compiled.describe() == "pure Python"
    else:
        assert len(set(done.values())) == 1, done  # a partial build would mix two copies of a module
        assert compiled.describe() in ("compiled (mypyc)", "pure Python")


def test_version_says_how_it_was_built():
    r = subprocess.run([sys.executable, "-m", "tokentrail.cli", "--version"], capture_output=True, text=True,
                       check=True, cwd=ROOT)
    assert compiled.describe() in r.stdout


def test_pure_python_gives_the_same_events():
    """The goldens, the bad-input properties and the CLI once more from the .py sources: what a
    machine without a C compiler installs must behave exactly as the compiled build."""
    env = {**os.environ, "TOKENTRAIL_TEST_PURE": "1"}
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_golden.py",
         "tests/runtime/test_properties.py", "tests/enrichers/test_token_golden.py",
         "tests/test_compiled.py::test_built_all_or_nothing"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
