"""`tokentrail` command line: run, process, check-config (and the worker roles)."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

from tokentrail import __version__
from tokentrail.errors import ConfigError

EPILOG = """\
examples:
  tokentrail run                                 the embedded demo: bundled logs -> ./tokentrail-out/
  tokentrail run --config tokentrail.yml         all stages in one process, until SIGTERM
  tokentrail run --config tokentrail.yml --once  read files to the end, poll APIs once, exit
  tokentrail process --source okta okta.ndjson > events.ndjson
  tokentrail check-config tokentrail.yml
  tokentrail worker enrich --config tokentrail.yml   one role over Kafka (collect, enrich, ship)
  tokentrail backfill --config tokentrail.yml --input okta-logs --since 2026-10-01

Sources: okta, entra, google, confluence, atlassian, access. Docs: README.md.
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, exit 2 (interfaces.md), instead of argparse's usage dump.
        self.exit(2, f"tokentrail: error: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    from collectors import SOURCE_NAMES

    p = _Parser(prog="tokentrail", description="SIEM log shipping and OAuth token audit.",
                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    p.add_argument("--version", action=_Version)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    r = sub.add_parser("run", help="all stages in one process (embedded demo without --config)",
                       description="Run collectors, enrichers and sinks in one process. Without --config: the "
                       "embedded demo (bundled sample logs of every source -> ./tokentrail-out/events.ndjson "
                       "and dlq.ndjson), then a summary.")
    r.add_argument("--config", "-c", metavar="FILE", help="YAML config (see README)")
    r.add_argument("--once", action="store_true", help="stop when files are read and APIs caught up once")
    r.add_argument("--out", metavar="DIR", default="./tokentrail-out", help="demo output folder (no --config)")

    pr = sub.add_parser("process", help="normalize and enrich files or stdin to NDJSON on stdout",
                        description="Read records of one source (JSON object, array, NDJSON or the provider's "
                        "envelope) from files or stdin; write one normalized event per line to stdout. "
                        "Records that fail go to --dlq (default: stderr); exit 0.")
    pr.add_argument("--source", "-s", required=True, choices=SOURCE_NAMES, metavar="SRC",
                    help=f"one of: {', '.join(SOURCE_NAMES)}")
    pr.add_argument("--config", "-c", metavar="FILE", help="YAML config (tokens, apps, pipeline limits)")
    pr.add_argument("--dlq", metavar="FILE", help="write dead-letter records here (default: stderr)")
    pr.add_argument("inputs", nargs="*", metavar="INPUT", help="files to read ('-' or none: stdin)")

    c = sub.add_parser("check-config", help="validate a config; exit 0, or 2 listing every problem")
    c.add_argument("file", metavar="FILE")

    _add_extra_commands(sub)
    return p


def _add_extra_commands(sub: Any) -> None:
    """Commands contributed by later components (worker roles, backfill)."""
    for mod in ("tokentrail.worker", "tokentrail.backfill"):
        try:
            module = __import__(mod, fromlist=["add_parser"])
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise
            continue
        module.add_parser(sub)


def _load(path: str | None) -> Any:
    from tokentrail import config

    return config.load(path) if path else config.from_dict({})


def cmd_check_config(args: argparse.Namespace) -> int:
    from tokentrail import config

    try:
        cfg = config.load(args.file)
    except ConfigError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        for p in exc.problems:
            print(f"  - {p}", file=sys.stderr)
        return 2
    print(f"{args.file}: OK ({len(cfg.inputs)} input(s), {len(cfg.sinks)} sink(s), bus {cfg.bus.kind})")
    return 0


def cmd_process(args: argparse.Namespace) -> int:
    from collectors.inputs.reader import iter_units, open_stream
    from enrichers.scrub import first_hint
    from tokentrail.runtime import build_processor

    cfg = _load(args.config)
    processor = build_processor(cfg)
    out = _stdout()
    dlq_out: BinaryIO = open(args.dlq, "ab") if args.dlq else sys.stderr.buffer  # noqa: SIM115
    names = args.inputs or ["-"]
    limits = {"max_record": cfg.pipeline.max_record_bytes, "max_document": cfg.pipeline.max_document_bytes}

    def idle() -> None:
        """The input is a pipe with nothing more yet: what is done goes out now, not at 1 MiB."""
        out.flush()
        dlq_out.flush()

    try:
        for name in names:
            if name == "-":
                raw, label = io.FileIO(sys.stdin.fileno(), "rb", closefd=False), "stdin"
            else:
                try:
                    raw = open(name, "rb", buffering=0)  # noqa: SIM115 - closed with the stream
                except OSError as exc:
                    print(f"tokentrail: error: cannot read {name}: {exc.strerror}", file=sys.stderr)
                    return 2
                label = f"file:{Path(name).resolve()}"
            stream = open_stream(raw, idle)
            with contextlib.closing(stream):  # stdin's descriptor stays open (closefd=False)
                # scan: hints of secrets found a block at a time as lines are read (reader._lines)
                processor.process_stream(args.source, iter_units(stream, **limits, scan=first_hint), label, out,
                                         dlq_out)
        out.flush()
        dlq_out.flush()
    except BrokenPipeError:
        # `tokentrail process ... | head`: the reader went away; that is not an error. What is still
        # buffered goes to /dev/null, so that flushing it at exit raises nothing more (Python's advice).
        with contextlib.suppress(Exception):
            os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
            sys.stdout = None  # type: ignore[assignment]
        return 0
    finally:
        if args.dlq:
            dlq_out.close()
    return 0


OUT_BUFFER = 1 << 20


def _stdout() -> BinaryIO:
    """Standard output for a stream of events: a 1 MiB buffer, and a pipe grown to that size where
    Linux allows it. With the default 8 KiB writes into a 64 KiB pipe, the writer spends more CPU
    switching to the reader and back than producing the events (measured: 20 us per event)."""
    sys.stdout.flush()
    fd = sys.stdout.fileno()
    with contextlib.suppress(OSError, AttributeError):
        import fcntl
        import stat

        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, OUT_BUFFER)  # best effort: capped by fs.pipe-max-size
    return open(fd, "wb", buffering=OUT_BUFFER, closefd=False)  # noqa: SIM115 - flushed by the caller


def _install_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def cmd_run(args: argparse.Namespace) -> int:
    import shutil

    from tokentrail import config, logging
    from tokentrail.runtime import Embedded

    demo = not args.config
    if demo:
        from tokentrail.demo import demo_config

        out = Path(args.out)
        # The demo starts fresh each time: same input, same output, no stale checkpoints.
        for name in ("events.ndjson", "dlq.ndjson"):
            (out / name).unlink(missing_ok=True)
        state = out / ".state"
        shutil.rmtree(state, ignore_errors=True)
        data = demo_config(str(out))
        data["state_dir"] = str(state)
        cfg = config.from_dict(data, "embedded default")
    else:
        cfg = config.load(args.config)
    logging.configure(cfg.logging.level, cfg.logging.format, role="run")
    once = args.once or demo
    if cfg.bus.kind == "kafka":
        from tokentrail.worker import run_all

        return run_all(cfg, once=once)
    runner = Embedded(cfg)
    _install_signals(runner.stop)
    server = None
    if cfg.http.listen:
        from tokentrail.health import serve

        server = serve(cfg.http.listen, ready=runner.ready)
    code = runner.run(once)
    if server:
        server.shutdown()
    print(runner.stats.summary())
    if demo:
        print(f"\nEvents: {cfg.sinks[0].config.path}\nDLQ:    {cfg.dlq.path}")
    for f in runner.fatal:
        print(f"tokentrail: error: {f}", file=sys.stderr)
    return code


class _Version(argparse.Action):
    """`--version`: the release and how it was built (mypyc-compiled hot path or pure Python)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="show the version and whether the hot path is compiled, then exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: Any, values: Any, option: Any = None) -> None:
        from tokentrail.compiled import describe

        print(f"tokentrail {__version__}, {describe()}")
        parser.exit()


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    handler = {"run": cmd_run, "process": cmd_process, "check-config": cmd_check_config}.get(args.command)
    if handler is None:
        handler = args.handler
    try:
        return handler(args)
    except ConfigError as exc:
        print(f"tokentrail: config error: {exc}", file=sys.stderr)
        for p in exc.problems if len(exc.problems) > 1 or str(exc) != exc.problems[0] else []:
            print(f"  - {p}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
