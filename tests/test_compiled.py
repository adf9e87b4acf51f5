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
    if os.environ.get("TOKENTRAIL_PURE_PYTHON"):
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
    env = {**os.environ, "TOKENTRAIL_PURE_PYTHON": "1"}
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_golden.py",
         "tests/runtime/test_properties.py", "tests/enrichers/test_token_golden.py",
         "tests/test_compiled.py::test_built_all_or_nothing"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]


# Values of every JSON type, and the strings providers send for "nothing".
_SWAPS = (None, "", "null", 0, -1, 1.5, True, False, "x", "2024-13-45T99:99:99Z", [], [None], ["a", 1], {},
          {"a": None}, {"id": 7}, 2**53 + 1)


def _paths(node, prefix=()):
    """Every (container, key) inside a JSON document."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield node, k
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield node, i
            yield from _paths(v, (*prefix, i))


def _mangled(source: str, seed: int, per_record: int) -> bytes:
    """The demo's lines of `source`, each also with one value (any depth) of another type, many times."""
    import copy
    import random

    import orjson

    from tokentrail.demo import demo_dir

    rng = random.Random(seed)
    out = []
    for line in (demo_dir() / f"{source}.ndjson").read_bytes().splitlines():
        out.append(line)
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        for _ in range(per_record):
            twin = copy.deepcopy(doc)
            spots = list(_paths(twin))
            if not spots:
                break
            for _ in range(rng.choice((1, 1, 2, 3))):
                container, key = rng.choice(spots)
                container[key] = copy.deepcopy(rng.choice(_SWAPS))
                spots = list(_paths(twin))
                if not spots:
                    break
            out.append(orjson.dumps(twin))
    return b"\n".join(out) + b"\n"


def _outputs(tmp_path: Path, source: str, corpus: Path, pure: bool) -> list:
    import orjson

    env = {**os.environ, "TZ": "UTC"}
    env.pop("TOKENTRAIL_PURE_PYTHON", None)
    if pure:
        env["TOKENTRAIL_PURE_PYTHON"] = "1"
    dlq = tmp_path / f"{source}-{pure}.dlq"
    r = subprocess.run([sys.executable, "-m", "tokentrail.cli", "process", "--source", source, "--dlq", str(dlq),
                        str(corpus)], capture_output=True, cwd=ROOT, env=env, timeout=300)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    events = [orjson.loads(line) for line in r.stdout.splitlines()]
    for e in events:
        e.get("event", {}).pop("ingested", None)
    dead = [orjson.loads(line) for line in dlq.read_bytes().splitlines()]
    for d in dead:
        d.pop("@timestamp", None)
    return [events, dead]


def test_compiled_and_pure_agree_on_mangled_records(tmp_path):
    """Compiled code checks declared types at run time where Python would not: a value of an
    unexpected type (a number for a name, a list for an object) must fare exactly as in pure Python,
    mapped or dead-lettered alike, with the same reasons. Every source, every demo record, each
    with values swapped for other types at random (seeded) depths."""
    for n, source in enumerate(("okta", "entra", "google", "confluence", "atlassian", "access")):
        corpus = tmp_path / f"{source}.ndjson"
        corpus.write_bytes(_mangled(source, seed=n, per_record=12))
        compiled_out = _outputs(tmp_path, source, corpus, pure=False)
        pure_out = _outputs(tmp_path, source, corpus, pure=True)
        assert compiled_out[1] == pure_out[1], f"{source}: DLQ records differ"
        assert compiled_out[0] == pure_out[0], f"{source}: events differ"
        assert compiled_out[0], source
