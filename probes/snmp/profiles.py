"""SNMP profiles: which OIDs to read and which metrics they become, as data (YAML).

(Over 400 lines on purpose: this is the profile format — its documentation below, every model
with its validators, and the loader — kept in one module so the format reads in one place.)

The shipped profiles live in `probes/snmp/shipped_profiles/*.yaml`; a site adds its own with the
probe's `profile_dirs` setting (a same-named file there replaces a shipped one). A profile:

```yaml
name: ups-mib
description: RFC 1628 UPS-MIB, mapped to NUT variable names
detect:                      # used by `profile: auto`
  sys_object_id: []          # sysObjectID prefixes that select the profile outright
  answers: [1.3.6.1.2.1.33.1.2]   # …or the agent has something inside one of these subtrees
group: ups                   # auto picks one profile per group: the detected one with the
priority: 10                 #   highest priority (a vendor MIB beats the generic one)
scalars:                     # GET of single instances
  - {name: battery.charge, oid: 1.3.6.1.2.1.33.1.2.4.0, unit: "%"}
  - {name: battery.runtime, oid: 1.3.6.1.2.1.33.1.2.3.0, scale: 60, unit: s,
     valid: [0, 1000000]}    # values outside are sentinels ("unknown"), not readings
tables:                      # column-parallel walks, one sample per row and metric
  - index: ifIndex           # label carrying the row index
    labels: {ifName: 1.3.6.1.2.1.31.1.1.1.1, ifDescr: 1.3.6.1.2.1.2.2.1.2}
                             # a label is a column, or {scalar: OID} (one GET, every row),
                             #   or {template: "Probe {index}"}, or {oid: …, map: {1: up}}
    where: {}                # column OID → values a row must have to be kept
    exclude: {}              # column OID → values that drop a row (e.g. memory size 0)
    skip: []                 # [{oid, op, value}]: drop a row where it holds; op ==, !=, <,
                             #   <=, >, >=, contains, starts, ends, regex (and not_ of those)
    metrics:
      - {name: ifHCInOctets, oid: 1.3.6.1.2.1.31.1.1.1.6, unit: B, rate: true}
    utilisation:             # percentage of a speed column, from a rated counter
      - {name: ifInUtilization, counter: ifHCInOctets, speed: ifHighSpeed,
         speed_scale: 1000000, bits: 8}
status:                      # one string metric of space-separated flags (NUT ups.status)
  - metric: ups.status
    sources:
      - {oid: 1.3.6.1.2.1.33.1.4.1.0, map: {3: OL, 5: OB}}
      - {oid: 1.3.6.1.2.1.33.1.6.1.0, above: 0, flag: ALARM}
```

Metric options: `scale` (multiply), `unit`, `rate` (also emit `<name>.rate` per second),
`map` (an enum number → a string value), `parse: number` (an OCTET STRING holding a number,
decimal comma allowed; implied for a metric with a unit, scale, valid range, rate or factor), `valid: [min, max]`, `labels` (constant labels), `scale_by`
(`{oid: column, map: {value: factor}}`, a factor from another column of the row),
`multiply_by` (a column whose value multiplies, e.g. hrStorageAllocationUnits) and
`precision_from` (a column whose value n divides by 10^n). `sentinels: [65535, -1]` are
values the agent sends for "unknown" (compared as sent); `valid: [min, max]` is in the
metric's unit, after scaling (outside it: no reading, silently, as for a sentinel); `bounds:
[min, max]` is the physical range of the metric (0–500 V of mains): a reading outside it is a
broken or misread value, dropped, counted in `snmp.out_of_bounds` and logged once. A table's
`totals` (`{name: ups.load, of: output.load, op: max}`; `sum`, `max` or `first`) adds one
unlabelled sample over its rows. A profile's `overrides` (`[{sys_object_id: [1.3.6.1.4.1.X],
metrics: {input.voltage: {scale: 0.1}}}]`) change `scale`, `unit`, `valid`, `bounds` or
`sentinels` of named metrics for the agents whose sysObjectID starts so (a vendor that sends
tenths where the MIB says units). When two entries yield the same
metric and labels, the first one the agent answers wins, so a profile can list a precise
OID first and a coarse fallback after it.
"""

from __future__ import annotations

import re
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from probes.profile_files import ProfileFileError, read_profile
from probes.snmp.ber import Oid, parse_oid

SHIPPED_DIR = Path(__file__).resolve().parent / "shipped_profiles"


def _to_oid(value: Any) -> Any:
    if isinstance(value, str):
        return parse_oid(value)
    return value


OidField = Annotated[tuple[int, ...], BeforeValidator(_to_oid)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScaleBy(_Model):
    oid: OidField
    map: dict[int, float]


class MetricSpec(_Model):
    name: str
    oid: OidField
    unit: str | None = None
    scale: float = 1.0
    offset: float = 0.0  # added after scaling (°F → °C: scale 5/9, offset -160/9)
    rate: bool = False
    map: dict[int, str] | None = None
    parse: str | None = Field(default=None, pattern="^number$")
    valid: tuple[float, float] | None = None
    sentinels: list[float] = Field(default_factory=list)
    bounds: tuple[float, float] | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    bare: bool = False  # without the table row's labels (a unit-wide name such as NUT's)
    scale_by: ScaleBy | None = None
    multiply_by: OidField | None = None
    precision_from: OidField | None = None


class LabelSpec(_Model):
    """A label from a column (`oid`, optionally through `map`), from one scalar the probe GETs
    (`scalar`: the same label on every row, e.g. a sensor's name kept apart from its value),
    or a `template` in which `{index}` stands for the row index ("Probe {index}")."""

    oid: OidField | None = None
    scalar: OidField | None = None
    map: dict[int, str] | None = None
    template: str | None = None


def _label_spec(value: Any) -> Any:
    if isinstance(value, str):
        return {"oid": value}
    return value


class Utilisation(_Model):
    name: str
    counter: str  # a metric name of the same table, with rate: true
    speed: str  # a metric name of the same table
    speed_scale: float = 1.0  # speed units → bits per second
    bits: float = 8.0  # bits per counter unit (octets: 8)


class Total(_Model):
    """One unlabelled sample from a metric of every row: the sum, the highest, or the first
    row's (e.g. `output.realpower` the sum of the phases, `ups.load` the highest phase load,
    as NUT does)."""

    name: str
    of: str  # a metric name of the same table
    op: Literal["sum", "max", "first"]


SKIP_OPS = (
    "==", "!=", "<", "<=", ">", ">=", "contains", "not_contains", "starts", "not_starts",
    "ends", "not_ends", "regex", "not_regex",
)  # fmt: skip


class SkipRule(_Model):
    """Drop a row when its column `oid` compares so with `value` (LibreNMS's skip_values)."""

    oid: OidField
    op: str = Field(pattern="^(" + "|".join(re.escape(op) for op in SKIP_OPS) + ")$")
    value: int | float | str

    def holds(self, found: int | float | str) -> bool:
        op, value = self.op, self.value
        if op in ("==", "!="):
            same = found == value or str(found) == str(value)
            return same if op == "==" else not same
        if op in ("<", "<=", ">", ">="):
            try:
                a, b = float(found), float(value)
            except ValueError:
                return False
            return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
        text, want = str(found), str(value)
        positive = op.removeprefix("not_")
        result = {
            "contains": want in text,
            "starts": text.startswith(want),
            "ends": text.endswith(want),
            "regex": re.search(want, text) is not None,
        }[positive]
        return not result if op.startswith("not_") else result


class TableSpec(_Model):
    index: str
    labels: dict[str, Annotated[LabelSpec, BeforeValidator(_label_spec)]] = Field(
        default_factory=dict
    )
    where: dict[str, list[int | str]] = Field(default_factory=dict)
    exclude: dict[str, list[int | str]] = Field(default_factory=dict)  # rows to drop
    skip: list[SkipRule] = Field(default_factory=list)  # rows to drop, by comparison
    metrics: list[MetricSpec]
    utilisation: list[Utilisation] = Field(default_factory=list)
    totals: list[Total] = Field(default_factory=list)

    def where_oids(self) -> dict[Oid, set[int | str]]:
        return self._where

    def exclude_oids(self) -> dict[Oid, set[int | str]]:
        return self._exclude

    @cached_property
    def _where(self) -> dict[Oid, set[int | str]]:
        return {parse_oid(k): set(v) for k, v in self.where.items()}

    @cached_property
    def _exclude(self) -> dict[Oid, set[int | str]]:
        return {parse_oid(k): set(v) for k, v in self.exclude.items()}

    def columns(self) -> list[Oid]:
        """Every column the walk needs, each once, in a stable order."""
        return list(self._columns)

    @cached_property
    def _columns(self) -> tuple[Oid, ...]:  # asked every poll: worked out once per table
        wanted: list[Oid] = [m.oid for m in self.metrics]
        wanted += [spec.oid for spec in self.labels.values() if spec.oid is not None]
        wanted += list(self.where_oids())
        wanted += list(self.exclude_oids())
        wanted += [rule.oid for rule in self.skip]
        for m in self.metrics:
            if m.scale_by is not None:
                wanted.append(m.scale_by.oid)
            if m.precision_from is not None:
                wanted.append(m.precision_from)
            if m.multiply_by is not None:
                wanted.append(m.multiply_by)
        return tuple(dict.fromkeys(wanted))


class StatusSource(_Model):
    oid: OidField
    map: dict[int, str] | None = None
    above: float | None = None  # add `flag` when the value is above this
    flag: str | None = None


class StatusSpec(_Model):
    metric: str
    sources: list[StatusSource]


class MetricOverride(_Model):
    """What an override changes in a metric (the rest stays as the profile says)."""

    scale: float | None = None
    unit: str | None = None
    valid: tuple[float, float] | None = None
    bounds: tuple[float, float] | None = None
    sentinels: list[float] | None = None


class Override(_Model):
    """Changes for the agents whose sysObjectID starts with one of `sys_object_id`: e.g. a
    vendor whose UPS-MIB voltages come in tenths gets `{input.voltage: {scale: 0.1}}`."""

    sys_object_id: list[str] = Field(min_length=1)
    metrics: dict[str, MetricOverride]


def _oid_prefixes(value: Any) -> Any:
    for text in value if isinstance(value, list) else []:
        parse_oid(str(text))  # a ValueError names the bad prefix, with the file's line
    return value


def _regexes(value: Any) -> Any:
    for text in value if isinstance(value, list) else []:
        try:
            re.compile(str(text))
        except re.error as exc:
            raise ValueError(f"not a regular expression: {text!r} ({exc})") from None
    return value


class DetectRule(_Model):
    """Every key given must match (sysObjectID by prefix, sysDescr by substring or by regular
    expression; no sysObjectID_except prefix); within a key, any entry will do. The shape of
    LibreNMS's OS detection."""

    sys_object_id: Annotated[list[str], BeforeValidator(_oid_prefixes)] = Field(
        default_factory=list
    )
    sys_object_id_except: Annotated[list[str], BeforeValidator(_oid_prefixes)] = Field(
        default_factory=list
    )
    sys_descr: list[str] = Field(default_factory=list)
    sys_descr_regex: Annotated[list[str], BeforeValidator(_regexes)] = Field(default_factory=list)

    def matches(self, sys_object_id: Oid | None, sys_descr: str | None) -> bool:
        if self.sys_object_id and not (
            sys_object_id is not None
            and any(sys_object_id[: len(p)] == p for p in map(parse_oid, self.sys_object_id))
        ):
            return False
        if sys_object_id is not None and any(
            sys_object_id[: len(p)] == p for p in map(parse_oid, self.sys_object_id_except)
        ):
            return False
        descr = sys_descr or ""
        if self.sys_descr and not any(part in descr for part in self.sys_descr):
            return False
        return not self.sys_descr_regex or any(re.search(r, descr) for r in self.sys_descr_regex)


class Detect(_Model):
    sys_object_id: list[str] = Field(default_factory=list)
    answers: list[OidField] = Field(default_factory=list)
    rules: list[DetectRule] = Field(default_factory=list)  # any rule that matches selects


class Profile(_Model):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    description: str = ""
    detect: Detect = Field(default_factory=Detect)
    group: str | None = None
    priority: int = 0
    scalars: list[MetricSpec] = Field(default_factory=list)
    tables: list[TableSpec] = Field(default_factory=list)
    status: list[StatusSpec] = Field(default_factory=list)
    overrides: list[Override] = Field(default_factory=list)

    def for_device(self, sys_object_id: Oid | None) -> Profile:
        """This profile with the overrides for that sysObjectID applied (itself if none)."""
        changes: dict[str, dict[str, Any]] = {}
        for override in self.overrides:
            if sys_object_id is not None and any(
                sys_object_id[: len(p)] == p for p in map(parse_oid, override.sys_object_id)
            ):
                for name, change in override.metrics.items():
                    changes.setdefault(name, {}).update(change.model_dump(exclude_none=True))
        if not changes:
            return self

        def apply(specs: list[MetricSpec]) -> list[MetricSpec]:
            return [s.model_copy(update=changes[s.name]) if s.name in changes else s for s in specs]

        tables = [t.model_copy(update={"metrics": apply(t.metrics)}) for t in self.tables]
        return self.model_copy(update={"scalars": apply(self.scalars), "tables": tables})

    def scalar_oids(self) -> list[Oid]:
        oids = [m.oid for m in self.scalars]
        for st in self.status:
            oids += [src.oid for src in st.sources]
        for table in self.tables:
            oids += [spec.scalar for spec in table.labels.values() if spec.scalar is not None]
        return oids

    def matches_sys_object_id(self, sys_object_id: Oid | None) -> bool:
        if sys_object_id is None:
            return False
        for prefix in self.detect.sys_object_id:
            p = parse_oid(prefix)
            if sys_object_id[: len(p)] == p:
                return True
        return False


class ProfileError(ValueError):
    """A profile file that does not load; the message names the file and the problem."""


def load_profile_file(path: Path) -> Profile:
    """The profile in `path`. Raises ProfileError, one line naming file:line and the reason."""
    try:
        profile = read_profile(path, Profile)
    except ProfileFileError as exc:
        raise ProfileError(str(exc)) from None
    if profile.name != path.stem:
        raise ProfileError(f"{path}: name {profile.name!r} differs from the file name")
    return profile


def load_profiles(extra_dirs: tuple[str, ...] = ()) -> dict[str, Profile]:
    """Every profile by name: the shipped ones, then each extra directory's (later wins).
    Files are read again only when one changed (so a reload picks up an edited profile)."""
    signature = []
    for directory in (SHIPPED_DIR, *map(Path, extra_dirs)):
        if not directory.is_dir():
            raise ProfileError(f"{directory}: not a directory of SNMP profiles")
        for path in sorted(directory.glob("*.yaml")):
            signature.append((str(path), path.stat().st_mtime_ns))
    return _load(tuple(signature))


@lru_cache(maxsize=16)
def _load(files: tuple[tuple[str, int], ...]) -> dict[str, Profile]:
    out: dict[str, Profile] = {}
    for path, _ in files:
        profile = load_profile_file(Path(path))
        out[profile.name] = profile
    return out


def choose_auto(
    profiles: dict[str, Profile],
    sys_object_id: Oid | None,
    answered: set[Oid],
    sys_descr: str | None = None,
) -> list[Profile]:
    """The profiles `auto` picks: `system` always, then each profile whose detect rule
    matches (by sysObjectID prefix, or an `answers` subtree in `answered`), keeping one per
    group (highest priority, then name). Ordered by priority then name, so a vendor profile's
    metrics come before a generic one's."""
    picked = []
    for profile in profiles.values():
        if profile.name == "system":
            continue
        if (
            profile.matches_sys_object_id(sys_object_id)
            or any(oid in answered for oid in profile.detect.answers)
            or any(rule.matches(sys_object_id, sys_descr) for rule in profile.detect.rules)
        ):
            picked.append(profile)
    picked.sort(key=lambda p: (-p.priority, p.name))
    seen_groups: set[str] = set()
    out = [profiles["system"]] if "system" in profiles else []
    for profile in picked:
        if profile.group is not None:
            if profile.group in seen_groups:
                continue
            seen_groups.add(profile.group)
        out.append(profile)
    return out


def detect_subtrees(profiles: dict[str, Profile]) -> list[Oid]:
    """Every `answers` subtree of every profile, each once."""
    return list(dict.fromkeys(oid for p in profiles.values() for oid in p.detect.answers))
