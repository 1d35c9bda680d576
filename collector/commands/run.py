"""`roomwatch run -c FILE`: the daemon."""

from __future__ import annotations

import argparse
import asyncio

from collector.config import DEFAULT_CONFIG
from collector.logs import setup_logging


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="run the monitoring daemon")
    p.add_argument("-c", "--config", default=str(DEFAULT_CONFIG), help="roomwatch.yaml")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from collector.daemon import Daemon  # the whole daemon only for this command

    setup_logging(args.log_level)
    return asyncio.run(Daemon(args.config).run())
