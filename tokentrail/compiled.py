"""The hot path that `pip install` compiles with mypyc when it can (see setup.py).

Every record goes through these modules: parsing, the six sources' mappings, the enricher chain.
Compiled, the same Python source runs faster; without a C compiler (or with TOKENTRAIL_PURE_PYTHON=1
at install time) the package installs as plain Python and behaves the same. TOKENTRAIL_PURE_PYTHON=1
at run time imports the .py sources even where compiled modules sit beside them (`use_pure_python`):
the way to rule the compiled build out when something looks wrong.
This file is read by setup.py before the package exists: no imports at module level.

Writing these modules for the compiler (each measured; the pure build runs them the same way):
- Annotations must be true: compiled code checks declared types at run time. So must inferred
  ones: a local keeps the type of its first assignment, and a later `None` in it raises
  TypeError compiled only (the pure-Python tests cannot see it: `make test` runs compiled).
- Tuple constants are annotated variable-length (`tuple[str, ...]`) and live at module level: a
  fixed-length tuple is a native value that is boxed into a new tuple object at every use, and a
  tuple literal in a function body is built on every call.
- `isinstance(x, A) or isinstance(x, B)` where A and B are builtins: each is one inline type check
  (since mypyc 2.x; 1.15 called PyObject_IsInstance), where `isinstance(x, (A, B))` builds the tuple
  at every call (and `A | B` a union object) and goes through the C API.
- Types the compiler infers are checked too: `frozenset & dict.keys()` is typed frozenset but is a
  set at run time (TypeError compiled only); `isdisjoint` says the same without the object.
- A str compared with a literal (`s == ""`, `s == "null"`) is a call to PyUnicode_Compare: test
  `not s`, or the length first (`len(s) == 4 and s == "null"`), where the value is mostly not it.
- Emptiness by type (`tokentrail.event.is_empty`), not `v == []` / `v == {}`: each comparison
  builds the empty container it compares with.
"""

from __future__ import annotations

SOURCES = (
    "tokentrail/event.py",
    "tokentrail/pipeline.py",
    "collectors/inputs/reader.py",
    "collectors/okta/normalize.py",
    "collectors/okta/_debug.py",
    "collectors/okta/_categories.py",
    "collectors/okta/envelopes.py",
    "collectors/entra/normalize.py",
    "collectors/entra/_common.py",
    "collectors/entra/_signin.py",
    "collectors/entra/_audit.py",
    "collectors/entra/envelopes.py",
    "collectors/google/normalize.py",
    "collectors/google/params.py",
    "collectors/google/envelopes.py",
    "collectors/confluence/normalize.py",
    "collectors/confluence/categories.py",
    "collectors/confluence/envelopes.py",
    "collectors/atlassian/normalize.py",
    "collectors/atlassian/_categories.py",
    "collectors/atlassian/envelopes.py",
    "collectors/access/normalize.py",
    "collectors/access/formats.py",
    "collectors/access/_addr.py",
    "collectors/access/envelopes.py",
    "enrichers/chain.py",
    "enrichers/scrub.py",
    "enrichers/apps.py",
    "enrichers/correlate.py",
    "enrichers/findings.py",
    "enrichers/state.py",
    "enrichers/tokens/enricher.py",
    "enrichers/tokens/_idp.py",
    "enrichers/tokens/_claims.py",
)


OURS = frozenset({"tokentrail", "collectors", "enrichers", "sinks", "schemas"})


class _PurePython:
    """A meta path finder: the project's modules from their .py sources, never a compiled twin."""

    @staticmethod
    def find_spec(name: str, path: object = None, target: object = None) -> object:
        import importlib.machinery
        import importlib.util

        if name.partition(".")[0] not in OURS:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)  # type: ignore[arg-type]
        if spec is not None and spec.origin and ".cpython-" in spec.origin and not spec.origin.endswith(".py"):
            return importlib.util.spec_from_file_location(name, spec.origin.split(".cpython-")[0] + ".py")
        return spec


def use_pure_python() -> None:
    """Import the pure-Python modules from now on. Must run before any of them is imported."""
    import sys

    if _PurePython not in sys.meta_path:
        sys.meta_path.insert(0, _PurePython)  # type: ignore[arg-type]


def module_name(source: str) -> str:
    name = source.removesuffix(".py").replace("/", ".")
    return name.removesuffix(".__init__")


def status() -> dict[str, bool]:
    """Module name -> whether the imported module is the compiled one."""
    import importlib

    out = {}
    for source in SOURCES:
        mod = importlib.import_module(module_name(source))
        out[module_name(source)] = not str(getattr(mod, "__file__", "")).endswith(".py")
    return out


def describe() -> str:
    """`compiled (mypyc)`, `pure Python` or `partly compiled (n of m)`: for --version and the logs."""
    done = status()
    n = sum(done.values())
    if n == len(done):
        return "compiled (mypyc)"
    return "pure Python" if n == 0 else f"partly compiled ({n} of {len(done)} modules)"
