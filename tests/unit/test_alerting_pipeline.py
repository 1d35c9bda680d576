"""The notification pipeline: grouping, inhibit, silence, dedup, retry and record."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from alerting.config import AlertingConfig, RetryConfig
from alerting.messages import Message
from alerting.notifiers.base import DeliveryError, Notifier
from alerting.pipeline.retry import backoff, decide
from tests.unit.alerting_helpers import Clock, config, fault, sent, service


async def test_power_cut_tripping_forty_devices_is_one_message(tmp_path: Path) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock, config(tmp_path, group={"wait": "30s"}))
    try:
        for i in range(1, 41):  # the faults trickle in over 20 seconds, as polls do
            await svc.handle([fault(f"srv{i}", level=1, rule="device-unreachable")])
            clock.advance(0.5)
            await svc.tick()
        assert sent(tmp_path) == []  # still inside the group wait
        clock.advance(15)
        await svc.tick()
        [message] = sent(tmp_path)
        assert len(message["incidents"]) == 40
        assert "40 devices" in message["subject"]
        assert len(await svc.store.list_incidents()) == 40
    finally:
        await svc.close()


async def test_grouped_recoveries_are_one_message_too(tmp_path: Path) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock, config(tmp_path, group={"wait": "10s"}))
    try:
        await svc.handle([fault(f"srv{i}", level=1) for i in range(1, 6)])
        clock.advance(11)
        await svc.tick()
        await svc.handle([fault(f"srv{i}", level=1, state="resolved") for i in range(1, 6)])
        clock.advance(11)
        await svc.tick()
        assert [m["kind"] for m in sent(tmp_path)] == ["opened", "resolved"]
        assert sent(tmp_path)[1]["subject"].startswith("[RESOLVED L1]")
    finally:
        await svc.close()


async def test_level1_fault_inhibits_level3_warnings_of_the_same_device(tmp_path: Path) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock)
    try:
        await svc.handle([fault("ups1", level=1, rule="ups-on-battery")])
        await svc.handle([fault("ups1", level=3, rule="ups-temperature")])
        await svc.handle([fault("srv2", level=3, rule="ups-temperature")])
        await svc.tick()
        told = sorted(i["device"] + ":" + i["rule"] for m in sent(tmp_path) for i in m["items"])
        assert told == ["srv2:ups-temperature", "ups1:ups-on-battery"]
        [inhibited] = [
            i
            for i in await svc.store.list_incidents()
            if i.rule == "ups-temperature" and i.device == "ups1"
        ]
        audit = [(a.action, a.detail.get("why")) for a in await svc.store.audit_log(inhibited.id)]
        assert ("not-told", "inhibited by incident 1") in audit
    finally:
        await svc.close()


async def test_inhibited_incident_is_told_when_the_inhibiting_one_resolves(tmp_path: Path) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock)
    try:
        await svc.handle([fault("ups1", level=1, rule="ups-on-battery")])
        await svc.handle([fault("ups1", level=3, rule="ups-temperature")])
        await svc.tick()
        await svc.handle([fault("ups1", level=1, rule="ups-on-battery", state="resolved")])
        clock.advance(1)
        await svc.tick()
        kinds = [(i["kind"], i["rule"]) for m in sent(tmp_path) for i in m["items"]]
        assert ("opened", "ups-temperature") in kinds
    finally:
        await svc.close()


async def test_silence_records_but_does_not_tell(tmp_path: Path) -> None:
    clock = Clock()  # 2025-11-23 04:00 UTC
    silence = {
        "start": "2025-11-23T03:00:00+00:00",
        "end": "2025-11-23T05:00:00+00:00",
        "devices": ["srv*"],
        "comment": "rack move",
    }
    svc = await service(tmp_path, clock, config(tmp_path, silences=[silence]))
    try:
        await svc.handle([fault("srv1"), fault("ups1", rule="x")])
        await svc.tick()
        assert [i["device"] for m in sent(tmp_path) for i in m["items"]] == ["ups1"]
        assert len(await svc.store.list_incidents()) == 2
    finally:
        await svc.close()


class FlakyNotifier(Notifier):
    """Fails while `down`; records what it accepted."""

    type = "flaky"

    def __init__(self, retryable: bool = True) -> None:
        self.config = type("C", (), {"id": "file", "timeout": 5.0})()
        self._secrets = {}
        self.down = True
        self.retryable = retryable
        self.accepted: list[Message] = []
        self.attempts = 0

    async def send(self, message: Message) -> None:
        self.attempts += 1
        if self.down:
            raise DeliveryError("file: receiver down", retryable=self.retryable)
        self.accepted.append(message)


def _swap(svc: Any, notifier: Notifier) -> None:
    svc.notifiers["file"] = notifier
    svc.outbox.notifiers["file"] = notifier


async def test_dead_channel_keeps_the_message_and_backs_off(tmp_path: Path) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock, config(tmp_path, retry={"initial": "10s", "max": "40s"}))
    flaky = FlakyNotifier()
    _swap(svc, flaky)
    try:
        await svc.handle([fault()])
        for _ in range(120):  # two minutes, ticking every second
            clock.advance(1)
            await svc.tick()
        # attempts at 0+1, +10, +20, +40, +40 s: backoff, not one try per tick
        assert 4 <= flaky.attempts <= 6
        [item] = await svc.store.outbox_items()
        assert item.state == "pending" and "receiver down" in (item.last_error or "")
        assert svc.stats()["alert_outbox_pending"] == 1
        flaky.down = False
        clock.advance(60)
        await svc.tick()
        assert len(flaky.accepted) == 1
        assert svc.stats()["alert_outbox_pending"] == 0
    finally:
        await svc.close()


async def test_not_retryable_error_fails_the_notification_at_once(tmp_path: Path) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock)
    flaky = FlakyNotifier(retryable=False)
    _swap(svc, flaky)
    try:
        await svc.handle([fault()])
        for _ in range(30):
            clock.advance(1)
            await svc.tick()
        assert flaky.attempts == 1
        [item] = await svc.store.outbox_items()
        assert item.state == "failed"
    finally:
        await svc.close()


async def test_queued_alert_survives_a_restart_and_is_sent_once(tmp_path: Path) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock)
    _swap(svc, FlakyNotifier())
    await svc.handle([fault()])
    clock.advance(1)
    await svc.tick()
    await svc.close()  # the channel was down the whole time

    svc = await service(tmp_path, clock)  # the real file channel now works
    try:
        for _ in range(3):
            clock.advance(60)
            await svc.tick()
        await svc.handle([fault()])  # the rule engine repeats itself after a restart
        for _ in range(3):
            clock.advance(60)
            await svc.tick()
        assert [m["kind"] for m in sent(tmp_path)] == ["opened"]
        assert len(await svc.store.sent_log()) == 1
    finally:
        await svc.close()
    svc = await service(tmp_path, clock)
    try:
        clock.advance(60)
        await svc.tick()
        assert len(sent(tmp_path)) == 1
    finally:
        await svc.close()


def test_backoff_doubles_up_to_the_cap() -> None:
    cfg = RetryConfig(initial=10, max=60)
    assert [backoff(n, cfg) for n in range(1, 6)] == [10, 20, 40, 60, 60]


def test_retry_gives_up_after_the_limit() -> None:
    cfg = RetryConfig(initial=10, max=60, give_up_after=3600)
    assert decide(True, 3, created=0, now=100, config=cfg).retry
    assert not decide(True, 3, created=0, now=3600, config=cfg).retry
    assert not decide(False, 1, created=0, now=1, config=cfg).retry


def test_routes_send_level1_to_the_phone_channel_only(tmp_path: Path) -> None:
    from alerting.pipeline.route import route

    cfg = AlertingConfig.model_validate(
        {
            "notifiers": [
                {"type": "log"},
                {"type": "sms", "url": "http://127.0.0.1:1/", "to": ["1"], "levels": [1]},
            ],
        }
    )

    class Inc:
        level, site, device, rule = 1, "dc1", "srv1", "r"

    assert route(Inc(), cfg) == ["log", "sms"]  # type: ignore[arg-type]
    Inc.level = 2
    assert route(Inc(), cfg) == ["log"]  # type: ignore[arg-type]


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_messages_carry_level_device_site_value_runbook_and_ack(
    tmp_path: Path, language: str
) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock, config(tmp_path, language=language))
    try:
        await svc.handle([fault("ups1", level=1, value=12.5)])
        await svc.tick()
        [m] = sent(tmp_path)
        text = m["text"]
        assert "ups1" in m["subject"] and "UPS A" in m["subject"]
        assert ("一级" if language == "zh" else "L1") in m["subject"]
        assert "机房一" in text and "12.5" in text and "Check the top processes" in text
        assert "roomwatch incidents ack 1 --by NAME" in text
        clock.advance(300)
        await svc.handle([fault("ups1", level=1, state="resolved")])
        await svc.tick()
        assert ("已恢复" if language == "zh" else "RESOLVED") in sent(tmp_path)[-1]["subject"]
    finally:
        await svc.close()


class HangingNotifier(FlakyNotifier):
    """A channel that never answers (a blackholed server) until released."""

    def __init__(self) -> None:
        super().__init__()
        import asyncio

        self.release = asyncio.Event()

    async def send(self, message: Message) -> None:
        self.attempts += 1
        await self.release.wait()
        self.accepted.append(message)


async def test_hanging_channel_does_not_hold_up_the_tick(tmp_path: Path) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock)
    svc.delivery_budget = 0.05
    hanging = HangingNotifier()
    _swap(svc, hanging)
    try:
        await svc.handle([fault()])
        await svc.tick()  # returns although the send hangs
        clock.advance(300)
        await svc.handle([fault("srv2", level=1)])  # faults are still recorded meanwhile
        await svc.tick()
        assert len(await svc.store.list_incidents()) == 2
        assert hanging.attempts == 1  # no second delivery round while the first is stuck
        hanging.release.set()
        svc.delivery_budget = None
        await svc.tick()
        await svc.tick()
        assert sum(len(m.items) for m in hanging.accepted) == 2
    finally:
        await svc.close()


class BuggyNotifier(FlakyNotifier):
    """A channel with a bug: while `down`, its send raises what no channel should (not a
    DeliveryError), so the delivery round itself fails."""

    async def send(self, message: Message) -> None:
        self.attempts += 1
        if self.down:
            raise RuntimeError("bug in the channel")
        self.accepted.append(message)


@pytest.mark.parametrize("budget", [None, 60.0])
async def test_a_delivery_round_that_fails_while_the_tick_waits_is_reported_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, budget: float | None
) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock)
    svc.delivery_budget = budget  # the round ends (fails) while the tick waits for it
    buggy = BuggyNotifier()
    _swap(svc, buggy)
    try:
        await svc.handle([fault()])
        with caplog.at_level(logging.DEBUG, logger="roomwatch"):
            # the failure goes up to the tick's caller, which reports it (the daemon's tick
            # logs "alerting tick failed" with it): that is its one report
            with pytest.raises(RuntimeError, match="bug in the channel"):
                await svc.tick()
            buggy.down = False
            clock.advance(1)
            await svc.tick()  # the next look: a new round, and no second report of the first
        reported = [
            r
            for r in caplog.records
            if "bug in the channel" in r.getMessage()
            or (r.exc_info and "bug in the channel" in str(r.exc_info[1]))
        ]
        assert reported == []
        assert buggy.attempts == 2 and len(buggy.accepted) == 1  # the next round sent it
    finally:
        await svc.close()


async def test_concurrent_acknowledgements_fault_handling_and_tick_all_land(
    tmp_path: Path,
) -> None:
    import asyncio

    clock = Clock()
    svc = await service(tmp_path, clock)
    try:
        await svc.handle([fault(f"srv{i}") for i in range(1, 11)])
        await asyncio.gather(
            *(svc.ack(i, "zhang") for i in range(1, 11)),
            svc.handle([fault(f"srv{i}", level=1) for i in range(11, 31)]),
            svc.tick(),
        )
        states = [i.state for i in await svc.store.list_incidents()]
        assert states.count("acknowledged") == 10 and states.count("open") == 20
        for incident_id in range(1, 11):
            assert "acknowledged" in [a.action for a in await svc.store.audit_log(incident_id)]
    finally:
        await svc.close()


async def test_a_message_sent_while_the_store_goes_away_is_recorded_later_not_sent_twice(
    tmp_path: Path,
) -> None:
    """The channel accepted the message, then the store refused the record (PostgreSQL stopped
    in between): it used to stay pending there and go out again when the store came back."""
    from alerting.store import Unavailable

    clock = Clock()
    svc = await service(tmp_path, clock)
    store = svc.store
    real_mark_sent = store.mark_sent
    away = [True]

    async def mark_sent_while_away(items: Any, now: float) -> None:
        if away[0]:
            raise Unavailable("the ticket store does not answer")
        await real_mark_sent(items, now)

    store.mark_sent = mark_sent_while_away  # type: ignore[method-assign]
    try:
        await svc.handle([fault("srv1", level=1)])
        clock.advance(60)
        await svc.outbox.deliver(clock())
        assert len(sent(tmp_path)) == 1  # the channel took it
        clock.advance(60)
        with pytest.raises(Unavailable):
            await svc.outbox.deliver(clock())  # still away: nothing is sent meanwhile
        away[0] = False  # the store is back
        clock.advance(60)
        await svc.outbox.deliver(clock())
        assert len(sent(tmp_path)) == 1  # recorded, not sent a second time
        assert await store.due_outbox(clock() + 3600, 100) == []
    finally:
        store.mark_sent = real_mark_sent  # type: ignore[method-assign]
        await svc.close()
