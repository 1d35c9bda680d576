"""`roomwatch demo`: a simulated machine room on loopback, watched by the real daemon.

    roomwatch demo [--dir roomwatch-demo] [--api-port 8765] [--port-base 17161]
                   [--speed 1] [--once] [--duration SECONDS] [--language en|zh]

Starts the room's simulated devices (collector.demo.room), writes the daemon's files for them
into --dir, runs the daemon on them in this process, and plays the script of faults: within
about two minutes a switch uplink goes down, a website fails, two UPS units go on battery
(one to low battery: level 1) and a room's temperature climbs through levels 3, 2 and 1,
with escalation to the team lead and the manager; then everything recovers. The script
repeats every 4 minutes unless --once. Ctrl-C stops it all."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from pathlib import Path

from collector.logs import setup_logging


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="a simulated machine room on loopback, with faults")
    p.add_argument("--dir", default="roomwatch-demo", help="where its files and state go")
    p.add_argument("--api-port", type=int, default=8765, help="the console and wall screen")
    p.add_argument(
        "--port-base", type=int, default=17161, help="the simulated devices use this and the next 5"
    )
    p.add_argument("--speed", type=float, default=1.0, help="play the script this much faster")
    p.add_argument("--once", action="store_true", help="play the script once, not every 4 min")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--language", choices=["en", "zh"], default="en")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    if args.speed <= 0:
        print("roomwatch demo: --speed must be above 0", file=sys.stderr)
        return 2
    setup_logging(args.log_level)
    # pymodbus 3.16 warns at every start that its data blocks move to SimData in v4
    logging.getLogger("pymodbus").setLevel(logging.ERROR)
    try:
        return asyncio.run(_run(args))
    except OSError as exc:
        print(f"roomwatch demo: {exc} (another demo running? try --api-port/--port-base)",
              file=sys.stderr)  # fmt: skip
        return 2


async def _run(args: argparse.Namespace) -> int:
    from collector.daemon import Daemon  # the whole daemon only for this command
    from collector.demo.files import write_files
    from collector.demo.room import DEMO_USERS, Ports, Room, play, write_users

    ports = Ports.from_base(args.api_port, args.port_base)
    room = Room(ports)
    await room.start()
    directory = await asyncio.to_thread(lambda: Path(args.dir).absolute())
    config = await asyncio.to_thread(
        write_files, directory, ports, room.serial_ups.path, args.language
    )
    await asyncio.to_thread(write_users, directory / "users.yaml")
    url = f"http://127.0.0.1:{ports.api}"
    say = print
    say("roomwatch demo: a simulated machine room on this machine's loopback")
    say(f"  files and state in {directory}")
    say("  ports:")
    for line in ports.describe():
        say(line)
    say(f"  serial UPS (Megatec) on the pseudo-terminal {room.serial_ups.path}")
    say(f"  console     {url}/console   sign in as:")
    for name, (role, password) in DEMO_USERS.items():
        say(f"                {name} / {password}   ({role})")
    say(f"  wall screen {url}/board   (sign in as manager, a viewer; or ?room=hall-a)")
    say("  the faults start in 15 s; every step is printed as 'demo: …'. Ctrl-C stops.")
    sys.stdout.flush()

    daemon = Daemon(config)
    running = asyncio.create_task(daemon.run(), name="daemon")

    def step(text: str) -> None:
        print(f"demo: {text}", flush=True)

    script = asyncio.create_task(play(room, args.speed, step, None if args.once else 240.0))
    try:
        if args.duration is not None:
            done, _ = await asyncio.wait({running}, timeout=args.duration)
            if not done:
                daemon.request_stop()
        code = await running
    finally:
        script.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await script
        await room.stop()
    return code
