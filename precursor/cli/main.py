"""Entry point of the `precursor` command: parsing, logging, one-line errors."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from precursor import __version__
from precursor.core.errors import ConfigurationError, PrecursorError

logger = logging.getLogger("precursor")


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line on stderr and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _configure_logging(level: str, debug: bool, log_file: Path | None = None) -> None:
    from precursor.core.runtime.processes import ServiceLogHandler

    # A service started by `up` writes its log itself, so that the log rotates while it runs.
    handler: logging.Handler = logging.StreamHandler(sys.stderr)
    if log_file:
        try:
            handler = ServiceLogHandler(log_file)
        except OSError as exc:
            raise ConfigurationError(
                f"PRECURSOR_LOG_FILE: cannot write {log_file}: {exc.strerror}"
            ) from None
    logging.basicConfig(
        level=logging.DEBUG if debug else getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        handlers=[handler],
    )
    if not debug:
        # MLflow sets its own loggers' level when it is imported, which happens later and lazily;
        # this is the level it then sets (else its INFO lines, such as creating a new tracking
        # store's tables, come before a command's own one-line error).
        os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
        for noisy in ("kafka", "httpx", "uvicorn.access", "alembic", "mlflow", "matplotlib"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        # kafka-python's event loop warns about every 100 ms busy slice under load.
        logging.getLogger("kafka.net.selector").setLevel(logging.ERROR)
        # A retried request to an MLflow server that is away: the scorer says so itself, once.
        logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)


def build_parser() -> argparse.ArgumentParser:
    """All subcommands; each module adds its own arguments."""
    from precursor.cli import commands

    parser = _Parser(
        prog="precursor",
        description="Predictive incident analytics over equipment telemetry.",
    )
    parser.add_argument("--version", action="version", version=f"precursor {__version__}")
    parser.add_argument("--debug", action="store_true", help="verbose logs and full tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for register in commands.REGISTRY:
        register(sub)
    return parser


def _innermost(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> argparse.ArgumentParser:
    """The (sub)command parser the parsed arguments ended in, e.g. `bench score`'s."""
    while True:
        sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        chosen = getattr(args, sub.dest, None) if sub is not None else None
        if chosen not in (sub.choices if sub is not None else {}):
            return parser
        parser = sub.choices[chosen]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; PrecursorError, or an OSError on a named file, becomes a one-line
    message and exit code 1."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # argparse blames the top-level parser; the user wants the command that refused them.
        _innermost(parser, args).error(f"unrecognized arguments: {' '.join(unknown)}")
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        from precursor.core.settings import load_settings

        settings = load_settings()
        _configure_logging(settings.log_level, args.debug, settings.log_file)
        args.settings = settings
        return int(run(args) or 0)
    except PrecursorError as exc:
        if args.debug:
            raise
        print(f"precursor {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        # A file or directory the user named (an output directory, a data file): one line.
        # Without a file name it is no path of theirs, and the traceback is worth having.
        if args.debug or exc.filename is None:
            raise
        print(
            f"precursor {args.command}: error: cannot use {exc.filename}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        # The tracking store refusing or failing (a server's 4xx/5xx, a lost artefact) is an
        # operational error like a database one: one line. mlflow is imported only by the
        # commands that use it, so it is looked up, not imported, here.
        tracking = sys.modules.get("mlflow.exceptions")
        if args.debug or tracking is None or not isinstance(exc, tracking.MlflowException):
            raise
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"precursor {args.command}: error: MLflow: {first}", file=sys.stderr)
        return 1
