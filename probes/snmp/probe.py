"""The `snmp` probe: switches, routers, UPS units and environment sensors over SNMP v1, v2c
and v3, reading what its profiles (`probes/snmp/shipped_profiles/*.yaml`) say.

Example inventory entries:

```yaml
- type: snmp
  address: 10.0.0.2            # host[:port], port 161 by default
  version: 2c
  credentials: core-switches   # credentials entry with `community: …`
  profile: auto                # or a list: [system, if-mib]
  interval: 60s
  timeout: 10s                 # the whole poll
- type: snmp
  address: ups-1.example.org
  version: 3
  user: ops
  credentials: ups-v3          # entry with auth_key and priv_key
  auth_protocol: sha256
  priv_protocol: aes
  profile: [system, ups-mib]
```

Metrics (DESIGN §4): MIB object names labelled by the table index and naming column (`ifOperStatus`
{ifIndex, ifName, ifDescr, ifAlias}), UPS readings under NUT names (`ups.status`,
`battery.charge`, …), environment sensors as `ambient.temperature`/`ambient.humidity`
{sensor}; counters raw plus `<metric>.rate` where a profile asks, and `ifInUtilization` /
`ifOutUtilization` (% of ifHighSpeed).

`profile: auto` reads sysObjectID and asks the agent (one GETNEXT per candidate subtree,
batched) which MIBs it has, then keeps the result until the agent restarts. Requests go through
our lean engine (`lean.LeanSession`, and `LeanV3Session` for v3 with MD5/SHA/SHA-2 and
AES-128 or DES); pysnmp serves 3DES/AES-192/256 and `engine: pysnmp`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from core.durations import Duration
from core.hostport import split_host_port
from core.sample import Sample
from probes.base import (
    Probe,
    ProbeAuthError,
    ProbeProtocolError,
    ProbeSettings,
    ProbeTimeout,
    secret_field,
)
from probes.metric_names import MetricNames, names_in_profile
from probes.snmp import ber
from probes.snmp.engines import make_session
from probes.snmp.gaps import Budget, Gaps
from probes.snmp.health import PollHealth
from probes.snmp.mapping import SYS_OBJECT_ID, SYS_UPTIME, build_samples, uptime_seconds
from probes.snmp.profiles import (
    Profile,
    TableSpec,
    choose_auto,
    detect_subtrees,
    load_profiles,
)
from probes.snmp.rates import CounterRates, restarted
from probes.snmp.riders import Riders
from probes.snmp.session import SnmpSession, Target
from probes.snmp.usm import AuthProtocol, PrivProtocol, lean_supports
from probes.snmp.values import text
from probes.snmp.walk import Column, WalkLimits, answered_subtrees, get_scalars, walk_columns


def _split(value: Any) -> Any:
    if isinstance(value, str):  # from the command line: "system,if-mib"
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


SYS_DESCR: ber.Oid = (1, 3, 6, 1, 2, 1, 1, 1, 0)


class SnmpSettings(ProbeSettings):
    address: str = Field(min_length=1)  # host[:port]; [v6addr]:port for IPv6
    version: Literal["1", "2c", "3"] = "2c"
    community: str | None = secret_field("public")
    user: str | None = None
    auth_protocol: AuthProtocol = "none"
    auth_key: str | None = secret_field()
    priv_protocol: PrivProtocol = "none"  # aes192/aes256 net-snmp's, aes192c/aes256c Cisco's
    priv_key: str | None = secret_field()
    context: str = ""
    # profile_dirs first: `profile` is checked against the profiles found there.
    profile_dirs: list[str] = Field(default_factory=list)
    profile: list[str] = Field(default_factory=lambda: ["auto"], min_length=1)
    retries: int = Field(default=1, ge=0, le=10)
    request_timeout: Duration = Field(default=2.0, gt=0)  # per attempt
    max_repetitions: int = Field(default=25, ge=1, le=1000)
    max_rows: int = Field(default=20_000, ge=1)  # per column: the guard against runaway walks
    bulk: bool = True  # GETBULK on v2c/v3 (v1 always walks with GETNEXT)
    engine: Literal["auto", "lean", "pysnmp"] = "auto"

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        text = str(value).lower().removeprefix("v")
        return {"2": "2c", "1": "1", "2c": "2c", "3": "3"}.get(text, text)

    @field_validator("auth_protocol", "priv_protocol", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return str(value).lower().replace("-", "") if value is not None else "none"

    @field_validator("profile", "profile_dirs", mode="before")
    @classmethod
    def _split_lists(cls, value: Any) -> Any:
        return _split(value)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        host_port(value)  # raises ValueError with the reason
        return value

    @model_validator(mode="after")
    def _v3_needs(self) -> SnmpSettings:
        if self.version != "3":
            return self
        if self.priv_protocol != "none" and self.auth_protocol == "none":
            raise ValueError("SNMPv3 privacy needs an auth_protocol too")
        for key in (self.auth_key, self.priv_key):
            if key is not None and len(key) < 8:
                raise ValueError("SNMPv3 keys are at least 8 characters (RFC 3414)")
        if self.engine == "lean" and not lean_supports(self.auth_protocol, self.priv_protocol):
            raise ValueError(f"engine lean does not do {self.priv_protocol} privacy (use pysnmp)")
        # The user and keys may come from the credentials entry the probe names, merged
        # before the probe is built; without one, they must be here.
        if self.credentials is None:
            missing = self.missing_v3()
            if missing:
                raise ValueError(f"SNMPv3 needs {missing}")
        return self

    def missing_v3(self) -> str | None:
        """What a v3 entry still lacks ("a user", "auth_key", "priv_key"), or None."""
        if self.version != "3":
            return None
        if not self.user:
            return "a user"
        if self.auth_protocol != "none" and not self.auth_key:
            return "auth_key (auth_protocol is set)"
        if self.priv_protocol != "none" and not self.priv_key:
            return "priv_key (priv_protocol is set)"
        return None

    @field_validator("profile_dirs")
    @classmethod
    def _dirs_load(cls, value: list[str]) -> list[str]:
        load_profiles(tuple(value))  # ProfileError (a ValueError) names the file and line
        return value

    @field_validator("profile")
    @classmethod
    def _profiles_exist(cls, value: list[str], info: ValidationInfo) -> list[str]:
        dirs = info.data.get("profile_dirs")
        if dirs is None:
            return value  # profile_dirs failed; its own error says why
        profiles = load_profiles(tuple(dirs))
        unknown = [p for p in value if p != "auto" and p not in profiles]
        if unknown:
            known = ", ".join(sorted(profiles))
            raise ValueError(f"unknown SNMP profile(s) {', '.join(unknown)} (known: auto, {known})")
        return value


def host_port(address: str, default_port: int = 161) -> tuple[str, int]:
    """ "host", "host:port", "[v6]:port" or a bare IPv6 address → (host, port)."""
    return split_host_port(address, default_port)


class SnmpProbe(Probe):
    type_name: ClassVar[str] = "snmp"
    settings_model: ClassVar[type[ProbeSettings]] = SnmpSettings

    @classmethod
    def metric_names(cls, settings: ProbeSettings) -> MetricNames:
        assert isinstance(settings, SnmpSettings)
        profiles = load_profiles(tuple(settings.profile_dirs))
        chosen = (
            profiles.values()
            if "auto" in settings.profile
            else [profiles[name] for name in settings.profile if name in profiles]
        )
        names = frozenset().union(*(names_in_profile(p) for p in chosen))
        # traps land on the polled series (ifOperStatus, ups.status) and as snmp.trap; the
        # probe's own findings are snmp.* too
        return MetricNames(names | {"snmp.trap", "ifOperStatus", "ups.status"}, ("snmp.",))

    def __init__(
        self, device: str, settings: ProbeSettings, session: SnmpSession | None = None
    ) -> None:
        """`session` replaces the network session (tests give a fake agent)."""
        super().__init__(device, settings)
        assert isinstance(settings, SnmpSettings)
        self.config = settings
        self.profiles = load_profiles(tuple(settings.profile_dirs))  # validated with settings
        host, port = host_port(settings.address)
        self.target = Target(
            host=host,
            port=port,
            version=settings.version,
            community=settings.community or "",
            user=settings.user or "",
            auth_protocol=settings.auth_protocol,
            auth_key=settings.auth_key or "",
            priv_protocol=settings.priv_protocol,
            priv_key=settings.priv_key or "",
            context=settings.context,
            timeout=settings.request_timeout,
            retries=settings.retries,
        )
        self._session: SnmpSession | None = session
        self._rates = CounterRates()
        self._auto: list[Profile] | None = None  # what auto found, until the agent restarts
        self._last_uptime: float | None = None
        self._last_poll = 0.0
        self._limits = WalkLimits()  # what the agent coped with, learned from poll to poll
        self._health = PollHealth()
        # (profiles, sysObjectID, those profiles with its overrides applied): see _for_device
        self._adapted: tuple[list[Profile], ber.Oid | None, list[Profile]] = ([], None, [])

    def __repr__(self) -> str:
        return f"SnmpProbe({self.device!r}, {self.target!r})"

    @property
    def session(self) -> SnmpSession:
        if self._session is None:
            self._session = make_session(self.target, self.config.engine)
        return self._session

    async def poll(self, now: float) -> Sequence[Sample]:
        missing = self.config.missing_v3()
        if missing:
            raise ProbeAuthError(
                f"SNMPv3 needs {missing}: add it to credentials entry {self.config.credentials!r}"
            )
        session = self.session
        gaps = Gaps()
        budget = Budget(self.config.timeout, self.config.request_timeout)
        tables: list[tuple[TableSpec, dict[ber.Oid, Column]]] = []
        try:
            profiles = await self._profiles(session, gaps, budget)
            profile_oids = [oid for profile in profiles for oid in profile.scalar_oids()]
            wanted = [SYS_UPTIME, SYS_OBJECT_ID, *profile_oids]
            specs = [table for profile in profiles for table in profile.tables]
            scalars: dict[ber.Oid, ber.Varbind] = {}
            silent = False
            if specs and self._riders_wanted():
                # The scalars ride along in the first table's first GETBULK (one request
                # less per poll); what could not ride, or failed to, goes by GET below.
                riders, rest = Riders.split(wanted)
                try:
                    tables.append(
                        (specs[0], await self._walk(session, specs[0], gaps, budget, riders))
                    )
                except ProbeTimeout:
                    silent = True  # nothing answered yet: the GET below tells why
                if riders.answered:
                    scalars, wanted = riders.found, rest
            scalars.update(await get_scalars(session, wanted, gaps, budget, after_silence=silent))
        except ProbeTimeout:
            if not gaps.answered:
                hint = await session.refused_hint()
                if hint is not None:
                    raise ProbeAuthError(hint) from None
            raise
        uptime = uptime_seconds(scalars)
        if (
            uptime is not None
            and self._last_uptime is not None
            and restarted(self._last_uptime, uptime, now - self._last_poll)
        ):
            self._auto = None  # restarted: maybe upgraded; detect again next poll
            self._limits = WalkLimits()
        self._last_uptime, self._last_poll = uptime, now
        for table in specs[len(tables) :]:
            tables.append((table, await self._walk(session, table, gaps, budget)))
        if (
            "auto" not in self.config.profile
            and not gaps.failed
            and not any(oid in scalars for oid in profile_oids)
            and not any(rows for _, columns in tables for rows in columns.values())
        ):
            # Otherwise a wrong profile reads as a healthy device with nothing to say. (With
            # `auto`, an agent with no MIB we know is up, just not interesting.)
            raise ProbeProtocolError(
                f"{self.target.where} answered, but has none of the OIDs of profile(s)"
                f" {', '.join(p.name for p in profiles)}"
            )
        found_id = scalars.get(SYS_OBJECT_ID)
        sys_object_id = found_id[2] if found_id is not None else None
        if isinstance(sys_object_id, tuple):  # vendor overrides (an agent sending tenths)
            adapted = self._for_device(profiles, sys_object_id)
            if any(a is not p for a, p in zip(adapted, profiles, strict=True)):
                profiles = adapted
                tables = [(_same_table(table, profiles), columns) for table, columns in tables]
        out_of_bounds: list[str] = []
        samples = build_samples(
            self.device, profiles, scalars, tables, now, self._rates, out_of_bounds
        )
        samples += self._health.samples(self.device, now, gaps, profiles, out_of_bounds)
        return samples

    def _riders_wanted(self) -> bool:
        """Whether this poll's scalars go along with the first walk's GETBULK (`Riders`):
        GETBULK in use (not v1, not turned off, not found ignored by the agent) and the
        agent not seen failing such a request."""
        limits = self._limits
        return self.config.bulk and self.target.version != "1" and limits.bulk and limits.riders

    async def _walk(
        self,
        session: SnmpSession,
        table: TableSpec,
        gaps: Gaps,
        budget: Budget,
        riders: Riders | None = None,
    ) -> dict[ber.Oid, Column]:
        return await walk_columns(
            session,
            table.columns(),
            bulk=self.config.bulk,
            max_repetitions=self.config.max_repetitions,
            max_rows=self.config.max_rows,
            gaps=gaps,
            budget=budget,
            limits=self._limits,
            riders=riders,
        )

    def _for_device(self, profiles: list[Profile], sys_object_id: ber.Oid) -> list[Profile]:
        """`profiles` with the overrides for this sysObjectID applied, made once while the
        profiles and the sysObjectID stay the same: copies made afresh every poll would be
        new tables to the compiled table plans (and new names to the health samples)."""
        source, oid, adapted = self._adapted
        if (
            oid != sys_object_id
            or len(source) != len(profiles)
            or any(a is not b for a, b in zip(source, profiles, strict=True))
        ):
            adapted = [profile.for_device(sys_object_id) for profile in profiles]
            self._adapted = (list(profiles), sys_object_id, adapted)
        return adapted

    async def _profiles(self, session: SnmpSession, gaps: Gaps, budget: Budget) -> list[Profile]:
        named = [self.profiles[p] for p in self.config.profile if p != "auto"]
        if "auto" not in self.config.profile:
            return named
        found = self._auto
        if found is None:
            before = len(gaps.failed)
            found = await self._detect(session, gaps, budget)
            if len(gaps.failed) == before:
                self._auto = found  # a detection with a question unanswered is asked again
        out = list(found)
        out += [p for p in named if p not in out]
        return out

    async def _detect(self, session: SnmpSession, gaps: Gaps, budget: Budget) -> list[Profile]:
        found = await get_scalars(session, [SYS_UPTIME, SYS_OBJECT_ID, SYS_DESCR], gaps, budget)
        sys_object_id = None
        value = found[SYS_OBJECT_ID][2] if SYS_OBJECT_ID in found else None
        if isinstance(value, tuple):
            sys_object_id = value
        sys_descr = text(found[SYS_DESCR][2]) if SYS_DESCR in found else None
        subtrees = detect_subtrees(self.profiles)
        answered = await answered_subtrees(session, subtrees, gaps, budget)
        return choose_auto(self.profiles, sys_object_id, answered, sys_descr)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @classmethod
    def cli_target(cls, target: str) -> dict[str, object]:
        return {"address": target}


def _same_table(table: TableSpec, profiles: Sequence[Profile]) -> TableSpec:
    """The table of `profiles` (overrides applied) that walks the same columns as `table`."""
    for profile in profiles:
        for candidate in profile.tables:
            if candidate.index == table.index and candidate.columns() == table.columns():
                return candidate
    return table
