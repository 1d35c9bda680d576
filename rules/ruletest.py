"""Rule unit tests, written by admins in YAML and run by `roomwatch rules test FILE…`, as
`promtool test rules` does for Prometheus: input series in an expanding notation, stepped in
virtual time through the real engine, and the faults expected at given times.

    rule_files: [../environment.yaml]        # relative to this file
    inventory:                               # inline, or a path to an inventory file
      devices:
        - {id: sensor1, kind: sensor, site: dc1, criticality: 2}
    interval: 1m                             # time between two input values (default 1m)
    tests:
      - name: too hot for two minutes opens a level-2 fault
        input_series:
          - device: sensor1
            metric: ambient.temperature
            values: "25 31x5 24x3"           # 25, then 31 six times, then 24 four times
        expect:
          - at: 3m
            faults:
              - {rule: room-temperature, device: sensor1, level: 2}
          - at: 8m
            faults: []

Values: `31` one value; `31x5` 31 then five more (six in all, as promtool counts); `10+5x3` 10 15
20 25; `_` no sample at that step (`_x4` five steps of silence); `"OB LB"` a text value (quote
text with spaces), `"OL"x3` repeated. An expected fault gives `rule`, `device`, and optionally
`labels` (default none), `level`, `state` (firing, default, or pending), `suppressed`
(dependency, maintenance, flapping; default none), `stale` (default false), `summary`
({en: …}). The faults firing at `at` must be exactly those listed; pending ones are compared
too when the list names one. Maintenance windows may be given per test, with times as offsets
from the test's start (`start: 5m`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.durations import format_duration, parse_duration
from core.sample import Sample, Value
from core.yamlsource import ConfigError, ErrorItem, LineDict, LineList, load_yaml, validate
from inventory.loader import load_inventory
from inventory.model import DeviceSpec, Inventory, SiteSpec
from rules.engine import Engine, FaultView
from rules.loader import load_rules
from rules.maintenance import PERIODS, MaintenanceWindow, parse_time, selector_from

FILE_KEYS = ("rule_files", "inventory", "interval", "start", "tests")
TEST_KEYS = ("name", "interval", "input_series", "expect", "maintenance")
SERIES_KEYS = ("device", "metric", "labels", "values")
EXPECT_KEYS = ("at", "faults")
FAULT_KEYS = ("rule", "device", "labels", "level", "state", "suppressed", "stale", "summary")

_TOKEN = re.compile(r"""\s*(?:"([^"]*)"|'([^']*)'|([^\s"']+))(x\d+)?(?=\s|$)""")
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_SERIES = re.compile(rf"(?P<a>{_NUMBER})(?:(?P<op>[-+])(?P<b>{_NUMBER}))?x(?P<n>\d+)")


MAX_STEPS = 100_000  # per series: 69 days of 1-minute steps


def expand_values(text: str | int | float) -> list[Value | None]:
    """Expand the input notation into one value per step (None = no sample).
    Raises ValueError naming the bad token, or when the series is longer than MAX_STEPS (a
    typo such as `1x1000000000` would otherwise hang the run and exhaust memory)."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return [text]
    if not isinstance(text, str):
        raise ValueError(f'values must be text such as "25 28x4", found {text!r}')
    out: list[Value | None] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ValueError(f"cannot read values at {text[pos:].strip()[:12]!r}")
        pos = m.end()
        quoted = m.group(1) if m.group(1) is not None else m.group(2)
        bare, repeat = m.group(3), m.group(4)
        count = re.search(r"x(\d+)$", (bare or "") + (repeat or ""))
        if count and len(out) + int(count.group(1)) >= MAX_STEPS:
            token = m.group(0).strip()
            raise ValueError(f"{token!r} makes the series longer than {MAX_STEPS} steps")
        if quoted is not None:
            out.extend([quoted] * (1 + (int(repeat[1:]) if repeat else 0)))
            continue
        token = bare + (repeat or "")
        series = _SERIES.fullmatch(token)
        if series:
            a, n = _num(series.group("a")), int(series.group("n"))
            b = _num(series.group("b")) if series.group("b") else 0
            step = -b if series.group("op") == "-" else b
            out.extend(_tidy(a + step * i) for i in range(n + 1))
        elif token == "_" or re.fullmatch(r"_x\d+", token):
            out.extend([None] * (1 + (int(token[2:]) if len(token) > 1 else 0)))
        elif re.fullmatch(_NUMBER, token):
            out.append(_num(token))
        elif word := re.fullmatch(r"(.+)x(\d+)", token):
            out.extend([word.group(1)] * (1 + int(word.group(2))))
        else:
            out.append(token)
    return out


def _num(text: str) -> float:
    return float(text)


def _tidy(value: float) -> Value:
    # 28 stays an int so templates and equality read naturally; 28.5 stays a float.
    rounded = round(value, 9)
    return int(rounded) if rounded.is_integer() else rounded


@dataclass
class Failure:
    test: str
    message: str

    def __str__(self) -> str:
        return f"{self.test}: {self.message}"


@dataclass
class FileResult:
    file: str
    tests: int = 0
    failures: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def run_test_file(path: str | Path) -> FileResult:
    """Run one rule-test file. Raises ConfigError when the file itself (or the rule files or
    inventory it names) is invalid; test failures are returned, not raised."""
    path = Path(path)
    data = load_yaml(path)
    if not isinstance(data, LineDict):
        raise ConfigError.single(
            path, "expected a mapping with rule_files, inventory and tests", 1, 1
        )
    _check_keys(data, FILE_KEYS, path, "")
    files = data.get("rule_files")
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files) or not files:
        raise ConfigError.single(
            path, "rule_files: expected a list of rule files", *_pos(data, "rule_files")
        )
    inventory = _inventory(data.get("inventory"), path, data)
    ruleset = load_rules([path.parent / f for f in files], inventory)
    interval = _interval(data, path, 60.0)
    start = _start(data, path)
    tests = data.get("tests")
    if not isinstance(tests, LineList):
        raise ConfigError.single(path, "tests: expected a list of tests", *_pos(data, "tests"))
    result = FileResult(str(path))
    for i, test in enumerate(tests):
        if not isinstance(test, LineDict):
            raise ConfigError.single(path, f"tests[{i}]: expected a mapping", *tests.positions[i])
        _check_keys(test, TEST_KEYS, path, f"tests[{i}].")
        name = str(test.get("name") or f"tests[{i}]")
        result.tests += 1
        engine = Engine(ruleset, inventory)
        step = _interval(test, path, interval)
        result.failures.extend(_run_one(name, test, engine, step, start, path))
    return result


def _run_one(
    name: str, test: LineDict, engine: Engine, step: float, start: float, path: Path
) -> list[Failure]:
    samples: dict[float, list[Sample]] = {}
    for j, raw in enumerate(test.get("input_series") or []):
        where = f"{name}: input_series[{j}]"
        if not isinstance(raw, LineDict):
            raise ConfigError.single(path, f"{where}: expected a mapping")
        _check_keys(raw, SERIES_KEYS, path, f"{where}.")
        if not isinstance(raw.get("device"), str) or not isinstance(raw.get("metric"), str):
            raise ConfigError.single(path, f"{where}: needs device and metric", *raw.start)
        labels = {str(k): str(v) for k, v in (raw.get("labels") or {}).items()}
        try:
            values = expand_values(raw.get("values", ""))
        except ValueError as exc:
            raise ConfigError.single(path, f"{where}.values: {exc}", *_pos(raw, "values")) from None
        for k, value in enumerate(values):
            if value is not None:
                t = k * step
                samples.setdefault(t, []).append(
                    Sample(raw["device"], raw["metric"], value, labels, ts=start + t)
                )
    engine.set_maintenance(_windows(test.get("maintenance"), start, path, name))
    expects: dict[float, list[tuple[LineDict, Any]]] = {}
    for j, raw in enumerate(test.get("expect") or []):
        where = f"{name}: expect[{j}]"
        if not isinstance(raw, LineDict) or "at" not in raw:
            raise ConfigError.single(path, f"{where}: expected a mapping with 'at' and 'faults'")
        _check_keys(raw, EXPECT_KEYS, path, f"{where}.")
        at = _duration(raw, "at", path, 0.0)
        faults = raw.get("faults") or []
        if not isinstance(faults, list):
            raise ConfigError.single(path, f"{where}.faults: expected a list", *_pos(raw, "faults"))
        for fault in faults:
            if not isinstance(fault, LineDict) or "rule" not in fault or "device" not in fault:
                raise ConfigError.single(
                    path, f"{where}: each fault needs rule and device", *raw.start
                )
            _check_keys(fault, FAULT_KEYS, path, f"{where}.")
        expects.setdefault(at, []).append((raw, faults))
    last = max([*samples, *expects, 0.0])
    if last // step >= MAX_STEPS:
        raise ConfigError.single(
            path,
            f"{name}: runs to {format_duration(last)} in steps of {format_duration(step)}, more"
            f" than {MAX_STEPS} steps (use a longer interval)",
            *test.start,
        )
    steps = {i * step for i in range(int(last // step) + 1)}
    failures: list[Failure] = []
    for t in sorted(steps | set(samples) | set(expects)):
        now = start + t
        engine.observe(samples.get(t, []), now)
        engine.tick(now)
        for _, faults in expects.get(t, []):
            problem = _compare(faults, engine.faults(now))
            if problem:
                failures.append(Failure(name, f"at {format_duration(t)}: {problem}"))
    return failures


def _compare(expected: Sequence[LineDict], actual: Sequence[FaultView]) -> str | None:
    want_pending = any(str(f.get("state", "firing")) == "pending" for f in expected)
    got = [f for f in actual if f.phase == "firing" or want_pending]
    want = [_expected(f) for f in expected]
    have = [_actual(f) for f in got]
    missing = [w for w in want if not any(_matches(w, h) for h in have)]
    extra = [h for h in have if not any(_matches(w, h) for w in want)]
    if not missing and not extra:
        return None
    parts = []
    if missing:
        parts.append("expected " + "; ".join(_show(w) for w in missing))
    if extra:
        parts.append("but got " + ("; ".join(_show(h) for h in extra)))
    if missing and not extra:
        parts.append("but got " + ("; ".join(_show(h) for h in have) or "no faults"))
    return ", ".join(parts)


def _expected(raw: LineDict) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rule": str(raw["rule"]),
        "device": str(raw["device"]),
        "labels": {str(k): str(v) for k, v in (raw.get("labels") or {}).items()},
        "state": str(raw.get("state", "firing")),
        "suppressed": None if raw.get("suppressed") in (None, "none") else str(raw["suppressed"]),
        "stale": bool(raw.get("stale", False)),
    }
    if "level" in raw:
        out["level"] = raw["level"]
    if "summary" in raw:
        out["summary"] = dict(raw["summary"])
    return out


def _actual(view: FaultView) -> dict[str, Any]:
    return {
        "rule": view.rule,
        "device": view.device,
        "labels": view.labels,
        "state": view.phase,
        "suppressed": None if view.suppressed is None else str(view.suppressed),
        "stale": view.stale,
        "level": view.level,
        "summary": view.summary,
    }


def _matches(want: dict[str, Any], have: dict[str, Any]) -> bool:
    for key, value in want.items():
        if key == "summary":
            if any(have["summary"].get(lang) != text for lang, text in value.items()):
                return False
        elif have.get(key) != value:
            return False
    return True


def _show(f: dict[str, Any]) -> str:
    out = f"{f['rule']} on {f['device']}"
    if f["labels"]:
        out += " {" + ", ".join(f"{k}={v}" for k, v in sorted(f["labels"].items())) + "}"
    details = [f["state"]]
    if "level" in f:
        details.append(f"level {f['level']}")
    if f["suppressed"]:
        details.append(f"suppressed: {f['suppressed']}")
    if f["stale"]:
        details.append("stale")
    if "summary" in f and isinstance(f["summary"], dict) and f["summary"]:
        details.append("summary " + repr(f["summary"].get("en", next(iter(f["summary"].values())))))
    return f"{out} ({', '.join(details)})"


def _windows(raw: Any, start: float, path: Path, name: str) -> list[MaintenanceWindow]:
    out = []
    for i, item in enumerate(raw or []):
        where = f"{name}: maintenance[{i}]"
        if not isinstance(item, dict):
            raise ConfigError.single(path, f"{where}: expected a mapping")
        try:
            every = item.get("every")
            if every is not None and every not in PERIODS:
                raise ValueError("every: expected daily or weekly")
            out.append(
                MaintenanceWindow(
                    id=str(item.get("id", f"test-{i}")),
                    selector=selector_from(item.get("select")),
                    start=start + parse_duration(item["start"]),
                    end=start + parse_duration(item["end"]),
                    every=every,
                    reason=str(item.get("reason", "")),
                )
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise ConfigError.single(path, f"{where}: {exc}") from None
    return out


def _inventory(raw: Any, path: Path, data: LineDict) -> Inventory:
    if isinstance(raw, str):
        return load_inventory(path.parent / raw)
    if not isinstance(raw, LineDict):
        raise ConfigError.single(
            path, "inventory: expected a path or a mapping with devices", *_pos(data, "inventory")
        )
    _check_keys(raw, ("sites", "devices"), path, "inventory.")
    inventory = Inventory()
    errors: list[ErrorItem] = []
    for i, item in enumerate(raw.get("sites") or []):
        try:
            site = validate(SiteSpec, item, path, ["inventory", "sites", i])
        except ConfigError as exc:
            errors.extend(exc.errors)
            continue
        inventory.sites[site.id] = site.to_site()
    for i, item in enumerate(raw.get("devices") or []):
        try:
            dev = validate(DeviceSpec, item, path, ["inventory", "devices", i])
        except ConfigError as exc:
            errors.extend(exc.errors)
            continue
        inventory.devices[dev.id] = dev.to_device()
    if errors:
        raise ConfigError(errors)
    return inventory


def _check_keys(raw: LineDict, known: Sequence[str], path: Path, prefix: str) -> None:
    errors = [
        ErrorItem(
            str(path), *raw.positions[k], f"{prefix}{k}: unknown key (known: {', '.join(known)})"
        )
        for k in raw
        if k not in known
    ]
    if errors:
        raise ConfigError(errors)


def _duration(raw: LineDict, key: str, path: Path, default: float) -> float:
    if key not in raw:
        return default
    try:
        return parse_duration(raw[key])
    except (ValueError, TypeError) as exc:
        raise ConfigError.single(path, f"{key}: {exc}", *_pos(raw, key)) from None


def _interval(raw: LineDict, path: Path, default: float) -> float:
    step = _duration(raw, "interval", path, default)
    if step <= 0:
        raise ConfigError.single(path, "interval: must be longer than 0s", *_pos(raw, "interval"))
    return step


def _start(raw: LineDict, path: Path) -> float:
    if "start" not in raw:
        return 0.0
    try:
        return parse_time(raw["start"])
    except ValueError as exc:
        raise ConfigError.single(path, f"start: {exc}", *_pos(raw, "start")) from None


def _pos(raw: LineDict, key: str) -> tuple[int, int]:
    return raw.positions.get(key, getattr(raw, "start", (0, 0)))
