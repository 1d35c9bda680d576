"""The latest readings held as columns give readers exactly what the sample lists gave: polls
of every real-device recording (answered, with rates, failed, answered again, a port gone)
recorded in both the column store and the plain implementation it replaced, compared field
by field, value types and label order included."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pytest

from collector.latest import LatestReadings, PollColumns, SeriesKey
from collector.polling import PollResult, poll_once
from core.sample import Sample
from probes.base import ProbeTimeout
from probes.snmp import ber
from probes.snmp.ber import Oid, Varbind
from probes.snmp.probe import SnmpProbe, SnmpSettings
from tests.fixtures.peers import shared_fixture
from tests.fixtures.snmp_expected import PROFILES
from tests.fixtures.snmp_fake import FakeAgentSession


class PlainLatest:
    """The implementation before the columns: each poll's sample list as it came."""

    def __init__(self) -> None:
        self._polls: dict[tuple[str, int], Sequence[Sample]] = {}
        self._other: dict[SeriesKey, Sample] = {}

    def record_poll(self, device: str, entry: int, samples: Sequence[Sample], up: bool) -> None:
        key = (device, entry)
        previous = self._polls.get(key)
        if up or previous is None:
            self._polls[key] = samples
            return
        fresh = [(s.metric, s.labels) for s in samples]
        self._polls[key] = [s for s in previous if (s.metric, s.labels) not in fresh] + list(
            samples
        )

    def record(self, samples: Iterable[Sample]) -> None:
        for sample in samples:
            self._other[sample.series_key()] = sample

    def keep_devices(self, devices: Iterable[str]) -> None:
        wanted = set(devices)
        for key in [k for k in self._polls if k[0] not in wanted]:
            del self._polls[key]
        for series in [k for k in self._other if k[0] not in wanted]:
            del self._other[series]

    def mapping(self) -> dict[SeriesKey, Sample]:
        out: dict[SeriesKey, Sample] = {}
        for samples in self._polls.values():
            for sample in samples:
                self._put(out, sample)
        for sample in self._other.values():
            self._put(out, sample)
        return out

    @staticmethod
    def _put(out: dict[SeriesKey, Sample], sample: Sample) -> None:
        key = sample.series_key()
        held = out.get(key)
        if held is None or sample.ts >= held.ts:
            out[key] = sample

    def __len__(self) -> int:
        return sum(len(s) for s in self._polls.values()) + len(self._other)


def exactly(sample: Sample) -> tuple[object, ...]:
    """Every field as a reader sees it: 1, 1.0 and True are told apart, label order too."""
    return (
        sample.device,
        sample.metric,
        type(sample.value),
        sample.value,
        tuple(sample.labels.items()),
        sample.unit,
        type(sample.ts),
        sample.ts,
        sample.note,
    )


def assert_same(new: LatestReadings, plain: PlainLatest) -> None:
    got = [(key, exactly(s)) for key, s in new.mapping().items()]
    want = [(key, exactly(s)) for key, s in plain.mapping().items()]
    assert got == want
    assert [exactly(s) for s in new.values()] == [s for _, s in want]
    assert len(new) == len(plain)


class Agent(FakeAgentSession):
    """A recorded agent that can be made to stop answering (to every kind of request: the
    probe reads its scalars in the first GETBULK, not only by GET)."""

    silent = False

    async def get(self, oids: Sequence[Oid]) -> list[Varbind]:
        if self.silent:
            raise ProbeTimeout("no answer")
        return await super().get(oids)

    async def get_next(self, oids: Sequence[Oid]) -> list[Varbind]:
        if self.silent:
            raise ProbeTimeout("no answer")
        return await super().get_next(oids)

    async def get_bulk(
        self, oids: Sequence[Oid], max_repetitions: int, non_repeaters: int = 0
    ) -> list[Varbind]:
        if self.silent:
            raise ProbeTimeout("no answer")
        return await super().get_bulk(oids, max_repetitions, non_repeaters)


def recording(name: str) -> tuple[SnmpProbe, Agent]:
    session = Agent.from_recording(shared_fixture("snmp", f"{name}.snmprec"))
    assert isinstance(session, Agent)
    config = SnmpSettings(type="snmp", address="192.0.2.1", community=name)  # type: ignore[arg-type]
    return SnmpProbe(name, config, session=session), session


def traffic(session: FakeAgentSession, seconds: int) -> None:
    """The agent `seconds` later: uptime on, every counter up by a different amount."""
    for n, (oid, (tag, value)) in enumerate(sorted(session.mib.items())):
        if tag in (ber.COUNTER32, ber.COUNTER64) and isinstance(value, int):
            session.mib[oid] = (tag, value + 1_000 * (n + 1))
        elif oid == (1, 3, 6, 1, 2, 1, 1, 3, 0) and isinstance(value, int):
            session.mib[oid] = (tag, value + 100 * seconds)


async def polled(
    probe: SnmpProbe, now: float, both: tuple[LatestReadings, PlainLatest]
) -> PollResult:
    result = await poll_once(probe, now)
    for latest in both:
        latest.record_poll(result.device, 0, result.samples, result.up)
    return result


@pytest.mark.parametrize("name", sorted(PROFILES))
async def test_a_recording_polled_reads_back_exactly_as_the_sample_lists(name: str) -> None:
    new, plain = both = LatestReadings(), PlainLatest()
    probe, session = recording(name)
    assert (await polled(probe, 1_000.0, both)).up
    assert_same(new, plain)
    traffic(session, 60)
    second = await polled(probe, 1_060.0, both)  # now with rates
    assert second.up
    assert_same(new, plain)
    session.silent = True
    assert not (await polled(probe, 1_120.0, both)).up  # last known readings kept
    assert_same(new, plain)
    session.silent = False
    traffic(session, 120)
    assert (await polled(probe, 1_180.0, both)).up
    assert_same(new, plain)


async def test_many_devices_a_port_removed_traps_and_a_reload_read_back_exactly() -> None:
    new, plain = both = LatestReadings(), PlainLatest()
    probes = [recording("ios_2960x"), recording("vrp_5720"), recording("ios_2960x")]
    for i, (probe, _) in enumerate(probes):
        probe.device = f"sw{i}"
    for t in (0.0, 60.0):
        for probe, session in probes:
            traffic(session, 60)
            await polled(probe, 1_000.0 + t, both)
        assert_same(new, plain)
    session = probes[1][1]
    alias = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 18)
    renamed = next(oid for oid in sorted(session.mib) if oid[:11] == alias)
    session.mib[renamed] = (ber.OCTET_STRING, b"uplink to core")  # same ports, a new label
    await polled(probes[1][0], 1_110.0, both)
    assert any(s.labels.get("ifAlias") == "uplink to core" for s in new.values())
    assert_same(new, plain)
    session = probes[0][1]
    port = (1, 3, 6, 1, 2, 1, 2, 2, 1)  # every ifTable column of ifIndex 10101
    for oid in [oid for oid in session.mib if oid[:9] == port and oid[-1] == 10101]:
        del session.mib[oid]
    session.oids = sorted(session.mib)
    await polled(probes[0][0], 1_120.0, both)
    assert_same(new, plain)
    trap = [Sample("sw1", "snmp.trap", "linkDown", {"ifIndex": "3"}, None, 1_130.0)]
    older = [Sample("sw1", "device.up", 1, {"probe": "snmp"}, None, 1.0)]  # loses to the poll's
    for latest in both:
        latest.record(trap + older)
        # (ts is a float, as every clock gives it; the compiled store keeps it as a C double)
        latest.record_poll("sw1", 1, [Sample("sw1", "http.up", True, {}, None, 1_131.0)], up=True)
    assert_same(new, plain)
    for latest in both:
        latest.keep_devices(["sw1", "sw2"])
    assert_same(new, plain)


def test_polls_of_one_model_share_their_metric_and_unit_columns() -> None:
    new = LatestReadings()

    def poll(device: str, ts: float) -> list[Sample]:
        rows = [{"ifIndex": str(i), "ifName": f"Gi0/{i}"} for i in range(3)]
        return [Sample(device, m, ts, row, "B", ts) for row in rows for m in ("in", "out")]

    new.record_poll("a", 0, poll("a", 1.0), up=True)
    new.record_poll("a", 0, poll("a", 2.0), up=True)
    new.record_poll("b", 0, poll("b", 2.0), up=True)
    second, other = new._polls[("a", 0)], new._polls[("b", 0)]
    assert isinstance(second, PollColumns)
    assert isinstance(other, PollColumns)
    assert other.metrics is second.metrics
    assert other.units is second.units
    assert second.ts == 2.0  # one time for the poll
    assert [s.value for s in new.values()] == [2.0] * 12


def test_polls_of_the_very_same_label_dicts_share_one_label_column() -> None:
    new = LatestReadings()
    rows = [{"ifIndex": str(i)} for i in range(3)]  # as the SNMP probe shares a model's rows

    def poll(device: str, dicts: list[dict[str, str]]) -> list[Sample]:
        return [Sample(device, "in", 1, labels, None, 1.0) for labels in dicts]

    new.record_poll("a", 0, poll("a", rows), up=True)
    new.record_poll("b", 0, poll("b", rows), up=True)
    new.record_poll("c", 0, poll("c", [dict(row) for row in rows]), up=True)  # equal, not same
    a, b, c = (new._polls[(device, 0)] for device in "abc")
    assert isinstance(a, PollColumns) and isinstance(b, PollColumns) and isinstance(c, PollColumns)
    assert b.labels is a.labels
    assert c.labels is not a.labels and c.labels == a.labels
    assert [(s.device, s.labels) for s in new.values()] == [
        (device, row) for device in "abc" for row in rows
    ]


def test_label_columns_no_poll_holds_are_not_kept() -> None:
    new = LatestReadings()
    for ts in range(500):  # a device whose labels are new dicts every poll
        new.record_poll("d", 0, [Sample("d", "m", ts, {"n": str(ts)}, None, ts)], up=True)
    assert len(new._store._shared_labels) <= 128
    assert [s.labels for s in new.values()] == [{"n": "499"}]


def test_kinds_of_value_sequences_no_poll_holds_are_not_kept() -> None:
    new = LatestReadings()
    for n in range(1, 300):  # a device whose poll has another shape every time
        samples = [Sample("d", f"m{i}", 1 if i % 2 else 0.5, {}, None, 1.0) for i in range(n)]
        new.record_poll("d", 0, samples, up=True)
    assert len(new._store._kinds) <= 128
    assert [s.value for s in new.values()][:3] == [0.5, 1, 0.5]


def test_a_label_changed_on_a_poll_of_the_same_length_reads_back_changed() -> None:
    new, plain = LatestReadings(), PlainLatest()
    for alias in ("spare", "uplink"):
        rows = [{"ifIndex": "1", "ifAlias": "server"}, {"ifIndex": "2", "ifAlias": alias}]
        samples = [Sample("sw", m, 1, row, None, 1.0) for row in rows for m in ("a", "b")]
        for latest in (new, plain):
            latest.record_poll("sw", 0, samples, up=True)
        assert_same(new, plain)


def test_labels_equal_but_in_another_order_read_back_in_the_new_order() -> None:
    new, plain = LatestReadings(), PlainLatest()
    for labels in ({"a": "1", "b": "2"}, {"b": "2", "a": "1"}):
        for latest in (new, plain):
            latest.record_poll("d", 0, [Sample("d", "m", 1, labels, None, 1.0)], up=True)
        assert_same(new, plain)


def test_a_sample_of_another_device_in_a_poll_is_kept_as_it_came() -> None:
    new, plain = LatestReadings(), PlainLatest()
    samples = [
        Sample("pdu", "outlet.power", 12.5, {}, "W", 5.0),
        Sample("server", "power.in", 12.5, {}, "W", 5.0, "via pdu"),
    ]
    for latest in (new, plain):
        latest.record_poll("pdu", 0, samples, up=True)
    assert_same(new, plain)
