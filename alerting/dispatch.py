"""Deciding who is told what, and queuing it in the outbox (the inhibit → silence → route →
dedup part of the pipeline), plus the clocks that run on every tick: escalation tiers, repeat
reminders, SLA breaches, the 24-hour promotion, closing, and planned-work notices.

Needs the store, the config and the inventory, not the channels: the CLI uses it too, so a
recovery or acknowledgement made without a running daemon still queues its notices, which the
daemon sends when it next runs. (Over 400 lines: the routing decisions and the clocks work in one
store transaction on the same incident, tier and recipient state; the pipeline's pure stages
are in alerting/pipeline/.)"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from typing import Any

from alerting import acklink, escalation, incidents, knowledge, notices, problems, sla, survey
from alerting.config import AlertingConfig, NotifierConfig
from alerting.duty import OnDuty, local_time, on_duty, person, resolve_targets
from alerting.incidents import Change
from alerting.messages import ALERT_KINDS
from alerting.notifiers import notifier_class
from alerting.pipeline.dedup import dedup_key, notice_key
from alerting.pipeline.group import group_key
from alerting.pipeline.inhibit import candidate_rules, inhibited_by
from alerting.pipeline.route import route, takes
from alerting.pipeline.silence import silenced_by
from alerting.store import Incident, TicketStore
from inventory.credentials import Credentials
from inventory.model import Inventory

log = logging.getLogger("roomwatch.alerting")

SYSTEM = "system"


def _union(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key, values in b.items():
        if isinstance(values, list):
            out[key] = list(dict.fromkeys([*out.get(key, []), *values]))
        else:
            out.setdefault(key, values)
    return out


class Dispatcher:
    def __init__(
        self,
        store: TicketStore,
        config: AlertingConfig,
        inventory: Inventory,
        credentials: Credentials,
        clock: Callable[[], float],
    ) -> None:
        self.store = store
        self.config = config
        self.inventory = inventory
        self.credentials = credentials
        self.clock = clock
        self._quiet_noted: set[tuple[int, str]] = set()  # audit "not told" once per reason
        # breaches the store answered "recorded already" (committed: kept whatever happens to
        # the asking transaction): not asked again at every look while the incident is open
        self._breaches_known: set[tuple[int, int, str, int]] = set()

    # ------------------------------------------------------------ facts for messages

    def tz(self) -> dt.tzinfo | None:
        return local_time(self.config.duty, self.clock()).tzinfo

    def on_duty(self, ts: float | None = None) -> OnDuty:
        return on_duty(self.config.duty, self.clock() if ts is None else ts)

    def _ack(self, incident: Incident, now: float) -> dict[str, str]:
        out = {"command": f"roomwatch incidents ack {incident.id} --by NAME"}
        link = self.config.ack_link
        if link.base_url and link.credentials:
            try:
                secret = self.credentials.entry(link.credentials).get("secret")
            except KeyError:
                secret = None
            if secret:
                out["link"] = acklink.make_link(link.base_url, secret, incident.id, now, link.ttl)
        return out

    async def payload(
        self, incident: Incident, kind: str, now: float, **extra: Any
    ) -> dict[str, Any]:
        device = self.inventory.devices.get(incident.device)
        site = self.inventory.sites.get(incident.site) if incident.site else None
        workaround = None
        if incident.problem_id is not None:
            workaround = (await self.store.problem(incident.problem_id)).workaround
        known = await knowledge.best_match(self.store, incident, self.inventory)
        out: dict[str, Any] = {
            "kind": kind,
            "incident": incident.id,
            "ticket": incident.ticket,
            "key": incident.key,
            "rule": incident.rule,
            "device": incident.device,
            "device_name": device.name if device else None,
            "site": incident.site,
            "site_name": site.name if site else None,
            "level": incident.level,
            "summary": incident.summary,
            "runbook": incident.runbook,
            "value": incident.value,
            "since": incident.since,
            "ts": now,
            "occurrences": incident.occurrences,
            "stale": incident.stale,
            # held open while it opens and clears again and again: no recovery until it settles
            "flapping": incident.suppressed == "flapping",
            "workaround": workaround,
            "knowledge": (
                {"id": known.number, "title": known.title, "workaround": known.workaround}
                if known
                else None
            ),
            "ack": self._ack(incident, now),
        }
        if incident.resolved_at is not None:
            out["resolved_at"] = incident.resolved_at
        if incident.from_people:
            out["reporter"] = incident.reporter
            out["source"] = incident.source
        out.update(extra)
        return out

    # ------------------------------------------------------------ recipients

    def recipients_for(self, entry: NotifierConfig, people: Iterable[str]) -> dict[str, Any] | None:
        return self._recipients(entry, people)

    def _recipients(self, entry: NotifierConfig, people: Iterable[str]) -> dict[str, Any] | None:
        """What this channel needs to reach these people (the channel's recipients rule);
        None when it cannot reach anyone (an email channel with no address at all)."""
        ids = list(people)
        persons = [person(self.config.duty, p) for p in ids]
        out: dict[str, Any] = {
            "people": ids,
            "names": [p.name or i for p, i in zip(persons, ids, strict=True)],
        }
        addresses = notifier_class(entry.type).addresses(entry, persons)
        if addresses is None:
            return None
        out.update(addresses)
        return out

    async def _told(self, incident_id: int) -> dict[str, dict[str, Any]]:
        """Per channel, everyone who was (or is about to be) told of this incident."""
        told: dict[str, dict[str, Any]] = {}
        for item in await self.store.outbox_items(incident_id):
            if item.kind in ALERT_KINDS and item.state != "failed":
                told[item.notifier] = _union(told.get(item.notifier, {}), item.recipients)
        return told

    async def _queued_before(self, incident: Incident, step: str) -> bool:
        """Whether `step` of this occurrence of `incident` was queued already (on any channel)."""
        prefix = dedup_key(incident.id, incident.occurrences, step, "")
        return any(
            item.dedup.startswith(prefix) and item.state != "failed"
            for item in await self.store.outbox_items(incident.id)
        )

    # ------------------------------------------------------------ the inhibit/silence gate

    async def _quiet(self, incident: Incident, now: float) -> bool:
        """True when inhibit or silence keeps this incident from being told now (recorded
        in the audit log once per reason)."""
        reason = None
        source = None
        rules = candidate_rules(incident, self.config.inhibit)
        if rules:
            by_site = any("site" in r.equal for r in rules)
            near = await self.store.active_near(incident.device, incident.site if by_site else None)
            source = inhibited_by(incident, near, rules)
        if source is not None:
            reason = f"inhibited by incident {source.id}"
        else:
            silence = silenced_by(incident, self.config.silences, local_time(self.config.duty, now))
            if silence is not None:
                reason = f"silenced{': ' + silence.comment if silence.comment else ''}"
        if reason is None:
            return False
        if (incident.id, reason) not in self._quiet_noted:
            self._quiet_noted.add((incident.id, reason))
            await self.store.audit(incident.id, now, SYSTEM, "not-told", {"why": reason})
        return True

    # ------------------------------------------------------------ queuing

    async def _enqueue(
        self,
        incident: Incident,
        notifier: str,
        step: str,
        recipients: dict[str, Any],
        payload: dict[str, Any],
        now: float,
    ) -> bool:
        entry = self.config.notifier(notifier)
        wait = self.config.group.wait if payload["kind"] in (*ALERT_KINDS, "resolved") else 0.0
        return await self.store.enqueue(
            incident_id=incident.id,
            notifier=entry.id,
            kind=str(payload["kind"]),
            dedup=dedup_key(incident.id, incident.occurrences, step, entry.id),
            group_key=group_key(incident, self.config.group.by),
            recipients=recipients,
            payload=payload,
            now=now,
            due=now + wait,
            shard=incident.shard,
        )

    async def tell(
        self,
        incident: Incident,
        kind: str,
        step: str,
        people: Iterable[str],
        now: float,
        *,
        channels: list[str] | None = None,
        require_people: bool = False,
        **extra: Any,
    ) -> bool:
        """Queue `kind` about `incident` to these people on its routed channels. Returns
        whether anything was queued."""
        people = list(people)
        if require_people and not people:
            return False
        names = [person(self.config.duty, p).name or p for p in people]
        payload = await self.payload(incident, kind, now, people=names, **extra)
        queued = False
        for name in route(incident, self.config, channels):
            if not takes(self.config.notifier(name).type, kind):
                continue
            recipients = self._recipients(self.config.notifier(name), people)
            if recipients is None:
                continue
            queued = await self._enqueue(incident, name, step, recipients, payload, now) or queued
        if queued:
            await self.store.update_incident(incident.id, {"last_notified_at": now})
            await self.store.audit(
                incident.id, now, SYSTEM, "told", {"what": kind, "step": step, "people": people}
            )
        return queued

    async def tell_told(
        self, incident: Incident, kind: str, step: str, now: float, **extra: Any
    ) -> bool:
        """Queue `kind` to everyone already told of `incident`, on the channels they heard on."""
        told = await self._told(incident.id)
        if not told:
            return False
        payload = await self.payload(incident, kind, now, **extra)
        queued = False
        for name, recipients in told.items():
            try:
                entry = self.config.notifier(name)
            except KeyError:
                continue  # the channel was removed from the config
            if not takes(entry.type, kind):
                continue  # a phone call rings for the alert, not for its recovery
            queued = await self._enqueue(incident, name, step, recipients, payload, now) or queued
        return queued

    # ------------------------------------------------------------ reacting to changes

    async def after_change(self, change: Change, now: float) -> None:
        incident = change.incident
        if change.kind in ("opened", "reopened"):
            await problems.track(self.store, incident, self.config.problems, now)
            incident = await self.store.get(incident.id)
            if not incident.quiet:
                await self.escalate(incident, now)
        elif change.kind == "unsuppressed":
            await self.escalate(incident, now)
        elif change.kind == "level" and not incident.quiet:
            step = f"level:{incident.level}:{int(incident.level_since)}"
            await self.tell_told(incident, "level", step, now, previous_level=change.previous_level)
            await self.escalate(incident, now)
        elif change.kind == "resolved":
            await self.recovered(incident, now)

    async def recovered(self, incident: Incident, now: float, by: str | None = None) -> None:
        extra: dict[str, Any] = {}
        if by and by != incidents.RULES_ACTOR:
            extra["by"] = by
        await self.tell_told(incident, "resolved", "resolved", now, **extra)
        # a ticket someone reported: ask them how satisfied they were (once per occurrence)
        await survey.ask(self.store, self.config, self.credentials, incident, now)

    async def escalate(self, incident: Incident, now: float) -> bool:
        """Run the escalation tiers of `incident` that are due. True when any ran."""
        tiers = self.config.tiers_for(incident.level)
        due = escalation.due_tiers(incident, tiers, now)
        if not due or await self._quiet(incident, now):
            return False
        for index, tier in due:
            # every tier that runs is in the audit log, told or not: the reports count
            # escalations from it, occurrence by occurrence
            await self.store.audit(
                incident.id,
                now,
                SYSTEM,
                "tier",
                {"tier": index, "occurrence": incident.occurrences},
            )
            people = resolve_targets(self.config.duty, tier.notify, now)
            kind = "opened" if index == 0 else "escalated"
            if index == 0 and incident.occurrences > 1:
                kind = "reopened"
            told = await self.tell(
                incident,
                kind,
                f"tier:{index}",
                people,
                now,
                channels=tier.notifiers or None,
                # later tiers name someone in particular; with nobody there, stay silent
                require_people=index > 0,
                tier=index,
            )
            if index == 0 and not told and not await self._queued_before(incident, "tier:0"):
                # every routed channel needs addresses nobody has: say so where people look
                # (not when it was told before a suppression and dedup kept it from a repeat)
                log.warning("incident %s: no alert channel reaches anyone", incident.id)
                await self.store.audit(
                    incident.id, now, SYSTEM, "not-told", {"why": "no channel reaches anyone"}
                )
        await self.store.update_incident(incident.id, {"tier": due[-1][0] + 1})
        return True

    # ------------------------------------------------------------ clocks (every tick)

    async def run_clocks(self, now: float, shards: list[str] | None = None) -> list[Incident]:
        """`shards`: only the incidents of these (the shards this collector holds, when
        several share the store; "*" is the desk's, with the planned-work notices). Returns
        the active incidents as read before the clocks ran (clockplan.py plans from them)."""
        active = await self.store.active(shards)
        ids = {i.id for i in active}
        self._breaches_known = {k for k in self._breaches_known if k[0] in ids}
        for incident in active:
            if incident.quiet:
                continue
            if sla.promotion_due(incident, self.config.promote_after, now):
                old = incident.level
                incident = await incidents.set_level(
                    self.store, incident, old - 1, now, SYSTEM, "unresolved too long"
                )
                await self.after_change(Change("level", incident, old), now)
                incident = await self.store.get(incident.id)
            await self.check_sla(incident, now)
            if await self.escalate(incident, now):
                incident = await self.store.get(incident.id)
            interval = self.config.repeat_for(incident.level)
            if escalation.reminder_due(incident, interval, now) and not await self._quiet(
                incident, now
            ):
                count = incident.reminders + 1
                await self.store.update_incident(
                    incident.id, {"reminders": count, "last_notified_at": now}
                )
                await self.tell_told(incident, "reminder", f"reminder:{count}", now, reminder=count)
                # the shift may have changed since the incident was told: whoever is on duty
                # now hears of it too (the day shift going home must not take it with them)
                told = await self._told(incident.id)
                heard = {p for r in told.values() for p in r.get("people", [])}
                incoming = [
                    p for p in resolve_targets(self.config.duty, ["on-duty"], now) if p not in heard
                ]
                await self.tell(
                    incident,
                    "reminder",
                    f"reminder:{count}:on-duty",
                    incoming,
                    now,
                    require_people=True,
                    reminder=count,
                )
        await incidents.close_resolved(self.store, now, self.config.reopen_window, shards)
        if shards is None or "*" in shards:
            await self.announce(now)
        return active

    async def check_sla(self, incident: Incident, now: float) -> None:
        for clock in sla.breaches(incident, self.config.sla_for(incident.level), now):
            key = (incident.id, incident.occurrences, clock.clock, clock.level)
            if key in self._breaches_known:
                continue
            if not await self.store.record_breach(
                incident.id, clock.clock, clock.level, clock.due, now, incident.occurrences
            ):
                self._breaches_known.add(key)
                continue
            await self.store.audit(
                incident.id,
                now,
                SYSTEM,
                "sla-breach",
                {
                    "clock": clock.clock,
                    "level": clock.level,
                    "due": clock.due,
                    "occurrence": incident.occurrences,
                },
            )
            if clock.clock == "repair" and incident.active:
                managers = resolve_targets(self.config.duty, ["role:manager"], now)
                await self.tell(
                    incident,
                    "breach",
                    f"breach:repair:{clock.level}",
                    managers,
                    now,
                    clock="repair",
                )

    # ------------------------------------------------------------ planned-work notices

    async def announce(self, now: float) -> None:
        for notice in self.config.notices:
            phase = notices.due_phase(notice, local_time(self.config.duty, now))
            if phase is None:
                continue
            payload = notices.payload(notice, phase, now)
            channels = notice.audience or [n.id for n in self.config.notifiers]
            for name in channels:
                entry = self.config.notifier(name)
                recipients = self._recipients(entry, [])
                if recipients is None:
                    continue
                await self.store.enqueue(
                    incident_id=None,
                    notifier=entry.id,
                    kind="notice",
                    dedup=notice_key(notice.id, phase, entry.id),
                    group_key="",
                    recipients=recipients,
                    payload=payload,
                    now=now,
                    due=now,
                )
