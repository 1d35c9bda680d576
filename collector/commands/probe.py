"""`roomwatch probe TYPE [TARGET] [--KEY VALUE …] [--json]`: poll one device once, no inventory.

The options are the probe's inventory settings, spelled with `-` for `_` (`--expect-status
200`, `--auth-protocol sha`); a flag without a value means true; list settings take
comma-separated values. Secrets may be given here directly, as `snmpwalk` takes a community.
Exit 0 when the device answered, 3 with a one-line reason when it did not or when its own
up-metric (`http.up` of the http probe) says it is down, 2 on bad options.

`roomwatch probe snmp TARGET … --oid NAME [--oid NAME…] [--mib-dir DIR]` reads just what a
MIB name names instead of the profiles (`--oid IF-MIB::ifDescr`, `--oid sysName.0`, numbers
too), by name, with the MIBs compiled into DIR (default: mib_dirs of roomwatch.yaml)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from collector.clock import SystemClock
from collector.commands.errors import ExitCode, UsageError
from collector.commands.output import print_samples
from collector.config import DEFAULT_CONFIG
from collector.polling import PollResult, poll_once
from probes.base import ProbeError
from probes.registry import UnknownProbeType, known_types, probe_class


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "probe",
        help="poll one device once without an inventory (like snmpwalk or upsc)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("type", help=f"probe type: {', '.join(known_types())}")
    p.add_argument("target", nargs="?", help="address, URL, serial port or user@host:port")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--device", default=None, help="device id to stamp on samples")
    p.add_argument("options", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    p.set_defaults(func=_probe)


def parse_options(tokens: list[str], model: type[BaseModel]) -> dict[str, Any]:
    """`--key value` pairs → settings; raises ValueError naming a bad token."""
    out: dict[str, Any] = {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if not token.startswith("--") or token == "--":
            raise ValueError(f"unexpected argument {token!r} (options are --key value)")
        key, eq, value = token[2:].partition("=")
        key = key.replace("-", "_")
        if not eq:
            if i + 1 < len(tokens) and not tokens[i + 1].startswith("--"):
                value = tokens[i + 1]
                i += 1
            else:
                value = "true"
        out[key] = _coerce(model, key, value)
        i += 1
    return out


def _type_name(annotation: Any) -> str:
    if typing.get_origin(annotation) is typing.Literal:
        return "|".join(str(v) for v in typing.get_args(annotation))
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def settings_help(type_name: str, model: type[BaseModel]) -> str:
    """The options of one probe type: its inventory settings, spelled for the command line."""
    lines = [f"roomwatch probe {type_name} TARGET [options]; options (the inventory settings):"]
    for name, field in model.model_fields.items():
        if name == "type":
            continue
        extra = field.json_schema_extra
        secret = isinstance(extra, dict) and bool(extra.get("secret"))
        if field.is_required():
            default = "required"
        elif secret:
            default = "secret"
        else:
            value = field.get_default(call_default_factory=True)
            default = f"default {value!r}"
        lines.append(f"  --{name.replace('_', '-'):<22} {_type_name(field.annotation)} ({default})")
    return "\n".join(lines)


def _coerce(model: type[BaseModel], key: str, value: str) -> Any:
    field = model.model_fields.get(key)
    if field is None:
        return value  # the model rejects it with a clear "unknown key"
    annotation = field.annotation
    args = typing.get_args(annotation)
    is_list = typing.get_origin(annotation) is list or any(
        typing.get_origin(a) is list for a in args
    )
    if is_list:
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


def _probe(args: argparse.Namespace) -> int:
    try:
        cls = probe_class(args.type)
    except UnknownProbeType as exc:
        raise UsageError(f"roomwatch probe: {exc}") from None
    model = cls.settings_model
    # Our own options may also come after TARGET, where REMAINDER collects them.
    tokens = list(args.options)
    if "--help" in tokens or "-h" in tokens:
        print(settings_help(args.type, model))
        return ExitCode.OK
    as_json = args.json or "--json" in tokens
    tokens = [t for t in tokens if t != "--json"]
    device = args.device
    if "--device" in tokens:
        i = tokens.index("--device")
        if i + 1 >= len(tokens):
            raise UsageError("roomwatch probe: --device needs a value")
        device = tokens[i + 1]
        del tokens[i : i + 2]
    oids, mib_dirs = _take_values(tokens, "--oid"), _take_values(tokens, "--mib-dir")
    if (oids or mib_dirs) and args.type != "snmp":
        raise UsageError("roomwatch probe: --oid and --mib-dir are for the snmp probe")
    try:
        options = parse_options(tokens, model)
    except ValueError as exc:
        raise UsageError(f"roomwatch probe: {exc}") from None
    raw: dict[str, Any] = {"type": args.type}
    if args.target:
        try:
            raw.update(cls.cli_target(args.target))
        except ValueError as exc:
            raise UsageError(f"roomwatch probe: {args.target}: {exc}") from None
    raw.update(options)
    try:
        settings = model.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False):
            where = ".".join(str(p) for p in err["loc"]).replace("_", "-")
            msg = "unknown option" if err["type"] == "extra_forbidden" else err["msg"]
            option = f"--{where}: " if where else ""  # a check across several options
            lines.append(f"roomwatch probe: {option}{msg}")
        raise UsageError(*lines) from None
    device = device or args.target or args.type
    probe = cls(device, settings)
    if oids:
        return _read_oids(probe, oids, mib_dirs, as_json)
    result = asyncio.run(_once(probe))
    print_samples(result.samples, as_json)
    if not result.up:
        print(f"{device}: {result.reason}: {result.error}", file=sys.stderr)
        return ExitCode.NO_ANSWER
    # A site that answers with the wrong status or content is down all the same.
    own_up = f"{args.type}.up"
    for sample in result.samples:
        if sample.metric == own_up and not sample.value:
            print(
                f"{device}: {sample.note or 'down'}: it answered, but {own_up} is 0",
                file=sys.stderr,
            )
            return ExitCode.NO_ANSWER
    return ExitCode.OK


def _take_values(tokens: list[str], option: str) -> list[str]:
    """Every value of a repeatable option (comma-separated too), removed from `tokens`."""
    values: list[str] = []
    while option in tokens:
        i = tokens.index(option)
        if i + 1 >= len(tokens) or tokens[i + 1].startswith("--"):
            raise UsageError(f"roomwatch probe: {option} needs a value")
        values += [v.strip() for v in tokens[i + 1].split(",") if v.strip()]
        del tokens[i : i + 2]
    return values


def _read_oids(probe: Any, oids: list[str], dirs: list[str], as_json: bool) -> int:
    from collector.commands.mibs import mib_dirs
    from probes.snmp.mib_names import MibNames, UnknownName
    from probes.snmp.named_read import read_named

    names = MibNames.load(mib_dirs([Path(d) for d in dirs], str(DEFAULT_CONFIG)))
    try:
        wanted = [names.oid_of(name) for name in oids]
    except UnknownName as exc:
        raise UsageError(f"roomwatch probe: --oid {exc}") from None

    async def read() -> list[Any]:
        try:
            return await read_named(probe.session, names, wanted, probe.device, time.time())
        finally:
            await probe.close()

    try:
        samples = asyncio.run(read())
    except ProbeError as exc:
        print(f"{probe.device}: {exc.reason}: {exc}", file=sys.stderr)
        return ExitCode.NO_ANSWER
    print_samples(samples, as_json)
    if not samples:
        print(f"{probe.device}: the agent has nothing under {', '.join(oids)}", file=sys.stderr)
        return ExitCode.FINDING
    return ExitCode.OK


async def _once(probe: Any) -> PollResult:
    try:
        return await poll_once(probe, SystemClock().now())
    finally:
        await probe.close()
