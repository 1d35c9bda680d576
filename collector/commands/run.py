"""`roomwatch run -c FILE`: the daemon."""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Callable

from collector.config import DEFAULT_CONFIG
from collector.logs import setup_logging

log = logging.getLogger("roomwatch")

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="run the monitoring daemon")
    p.add_argument("-c", "--config", default=str(DEFAULT_CONFIG), help="roomwatch.yaml")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.add_argument(
        "--event-loop",
        default="auto",
        choices=["auto", "uvloop", "asyncio"],
        help="uvloop (libuv, the default when installed: a large room costs less CPU) or"
        " Python's own asyncio loop",
    )
    p.set_defaults(func=_run)


def loop_factory(choice: str) -> tuple[LoopFactory | None, str]:
    """The event loop to run on, and its name for the log. None: asyncio's default loop.
    Raises SystemExit when uvloop is asked for by name and is not installed."""
    if choice == "asyncio":
        return None, "asyncio"
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise SystemExit(
                "roomwatch run: --event-loop uvloop, but uvloop is not installed"
                " (pip install uvloop, or --event-loop asyncio)"
            ) from None
        return None, "asyncio (uvloop is not installed)"
    from importlib.metadata import version

    return uvloop.new_event_loop, f"uvloop {version('uvloop')}"


def _run(args: argparse.Namespace) -> int:
    from collector.daemon import Daemon  # the whole daemon only for this command

    setup_logging(args.log_level)
    factory, name = loop_factory(args.event_loop)
    log.info("event loop: %s", name)
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(Daemon(args.config).run())
