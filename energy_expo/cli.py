"""The ``energy-expo`` command: one entry point, a subcommand per module in ``energy_expo.commands``.

Adding a subcommand is adding a module there with ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``. Expected failures
(``UserError``, and a store's ``StoreError``) print one line and exit 2; Ctrl-C exits 130 without a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys

from energy_expo import commands
from expo import __version__
from expo.errors import UserError
from expo.plugins import discover
from expo.store import StoreError

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record, so a log collector (journald, Loki, Elastic) needs no parsing rules."""

    def format(self, record: logging.LogRecord) -> str:
        import json

        entry = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
                 "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def _command_modules():
    return discover(commands.__name__).values()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="energy-expo",
        description="Live telemetry exhibit for energy systems: simulate meters, ingest readings, show them.",
    )
    parser.add_argument("--version", action="version", version=f"energy-expo {__version__}")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    parser.add_argument("--log-format", default="text", choices=["text", "json"],
                        help="json: one JSON object per line (ts, level, logger, message), for log collectors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for module in _command_modules():
        child = sub.add_parser(module.NAME, help=module.HELP, description=module.__doc__)
        module.add_arguments(child)
        child.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if args.log_format == "json" else logging.Formatter(LOG_FORMAT))
    logging.basicConfig(level=args.log_level.upper(), handlers=[handler])
    try:
        return args.run(args)
    except (UserError, StoreError) as exc:
        print(f"energy-expo {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
