"""What the HTTP API sees of the running daemon: a narrow, typed view, not the `Daemon`.

The daemon builds one `DaemonView` (`Daemon.api_view`) and hands it to the API; the handlers
read the daemon's state only through it. Every field is a callable, asked at each request, so
the API always sees the running configuration: after a reload the inventory and the
maintenance file are the new ones without the API being told. Tests build a view from plain
data and a real alert service, and serve the handlers in-process.

    devices      inventory(), latest(), not_answering(), status_line()
    incidents    incidents(): the alert service's side the API may use (list, acknowledge)
    sinks        sinks(): each sink's figures for /metrics
    stats        stats(): the daemon's own figures (polls, reloads, queue depth, traps)
    readings     readings_stale_after(): when a reading leaves /metrics/devices
    maintenance  maintenance_file(): where the windows live (the daemon re-reads it)
    history      readings(): the recent history of readings for the device graphs"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence, Set
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from alerting import follow, survey
from alerting import incidents as lifecycle
from alerting.chat.channel import Inbound, Reply
from alerting.config import SlaTargets
from alerting.followview import ReporterView, reporter_view
from alerting.store import STATES, AuditEntry, Breach, Incident, Note, Occurrence
from collector.api.reading_metrics import DEFAULT_STALE_AFTER
from core.sample import Sample
from inventory.model import Inventory

if TYPE_CHECKING:
    from alerting.service import AlertService
    from collector.history import GraphSource

SeriesKey = tuple[str, str, tuple[tuple[str, str], ...]]


class Incidents(Protocol):
    """The incidents as the API may read and change them."""

    def language(self) -> str:
        """The language alerting speaks (zh | en): the page and summaries follow it."""
        ...

    def sla_for(self, level: int) -> SlaTargets: ...

    def stats(self) -> Mapping[str, float]:
        """The alerting figures for /metrics."""
        ...

    async def active(self) -> list[Incident]: ...

    async def listed(self, states: Sequence[str]) -> list[Incident]: ...

    async def get(self, incident_id: int) -> Incident:
        """Raises alerting.store.NotFound."""
        ...

    async def ack(self, incident_id: int, by: str, note: str | None) -> Incident:
        """Raises alerting.incidents.IncidentError when it cannot be acknowledged."""
        ...

    async def ack_link(self, incident_id: int, expires: str, sig: str, by: str) -> Incident:
        """Acknowledge from a signed link; IncidentError when the link is bad or expired."""
        ...

    async def ack_code(self, code: str, by: str) -> Incident:
        """Acknowledge with an SMS's short code; IncidentError when it is not a valid one."""
        ...

    async def chat_callback(self, channel: str, inbound: Inbound) -> Reply:
        """A chat platform's callback to card channel `channel`, verified and acted on."""
        ...

    async def open_ticket(self, by: str, fields: Mapping[str, Any]) -> Incident:
        """A ticket a person reported (title, level, device, reporter, contact, …);
        IncidentError when a field is refused."""
        ...

    async def reporter_view(self, ticket: str, sig: str) -> ReporterView | None:
        """The follow page's ticket; None for an unknown ticket or a wrong signature."""
        ...

    async def reporter_answer(
        self, ticket: str, sig: str, score: int, comment: str | None
    ) -> bool | None:
        """The survey answered on the page: None for a bad link, False when no question is
        open, True when recorded."""
        ...

    # What the console does and shows; each action is audited under `by`.
    async def resolve(self, incident_id: int, by: str, note: str | None) -> Incident: ...
    async def arrive(self, incident_id: int, by: str) -> Incident: ...
    async def note(self, incident_id: int, by: str, text: str) -> Incident: ...
    async def assign(self, incident_id: int, to: str, by: str) -> Incident: ...
    async def history(self, limit: int, device: str | None = None) -> list[Incident]:
        """Incidents of every state, newest first."""
        ...

    async def timeline(self, incident_id: int) -> Timeline: ...
    async def record(self, actor: str, action: str, detail: Mapping[str, Any]) -> None:
        """An audit entry that concerns no incident (a sign-in, a lock-out)."""
        ...


@dataclass(frozen=True)
class Timeline:
    """Everything the store knows happened to one incident."""

    audit: Sequence[AuditEntry]
    notes: Sequence[Note]
    sent: Sequence[Mapping[str, Any]]  # delivered notifications: notifier, kind, recipients, ts
    breaches: Sequence[Breach]
    occurrences: Sequence[Occurrence] = ()  # each time it was open, first to latest


class ServiceIncidents:
    """`Incidents` through the daemon's AlertService, so an acknowledgement from the API takes
    the same path as any other (audit log, SLA clocks, the acknowledged message)."""

    def __init__(self, service: AlertService) -> None:
        self._service = service

    def language(self) -> str:
        return str(self._service.config.language)

    def sla_for(self, level: int) -> SlaTargets:
        return self._service.config.sla_for(level)

    def stats(self) -> Mapping[str, float]:
        return self._service.stats()

    async def active(self) -> list[Incident]:
        return await self._service.store.active()

    async def listed(self, states: Sequence[str]) -> list[Incident]:
        return await self._service.store.list_incidents(states=states)

    async def get(self, incident_id: int) -> Incident:
        return await self._service.store.get(incident_id)

    async def ack(self, incident_id: int, by: str, note: str | None) -> Incident:
        return await self._service.ack(incident_id, by, note)

    async def ack_link(self, incident_id: int, expires: str, sig: str, by: str) -> Incident:
        return await self._service.ack_link(incident_id, expires, sig, by)

    async def resolve(self, incident_id: int, by: str, note: str | None) -> Incident:
        return await self._service.resolve(incident_id, by, note)

    async def open_ticket(self, by: str, fields: Mapping[str, Any]) -> Incident:
        return await self._service.open_ticket(by, **fields)

    async def _followed(self, ticket: str, sig: str) -> Incident | None:
        link = self._service.config.desk.follow
        if link is None:
            return None
        try:
            secret = self._service.credentials.entry(link.credentials).get("secret")
        except KeyError:
            return None
        if not secret or not follow.verify(secret, ticket, sig):
            return None
        return await self._service.store.find_ticket(ticket)

    async def reporter_view(self, ticket: str, sig: str) -> ReporterView | None:
        incident = await self._followed(ticket, sig)
        if incident is None:
            return None
        store = self._service.store
        return reporter_view(
            incident,
            await store.occurrences(incident.id),
            await store.notes(incident.id),
            await store.surveys(incident.id),
        )

    async def reporter_answer(
        self, ticket: str, sig: str, score: int, comment: str | None
    ) -> bool | None:
        incident = await self._followed(ticket, sig)
        if incident is None:
            return None
        store = self._service.store
        async with store.transaction():
            return await survey.answer(
                store, incident, score, comment, "page", self._service.clock()
            )

    async def arrive(self, incident_id: int, by: str) -> Incident:
        return await self._service.arrive(incident_id, by)

    async def note(self, incident_id: int, by: str, text: str) -> Incident:
        store = self._service.store
        async with store.transaction():
            await lifecycle.add_note(store, incident_id, by, text, self._service.clock())
        return await store.get(incident_id)

    async def assign(self, incident_id: int, to: str, by: str) -> Incident:
        store = self._service.store
        async with store.transaction():
            return await lifecycle.assign(store, incident_id, to, by, self._service.clock())

    async def history(self, limit: int, device: str | None = None) -> list[Incident]:
        return await self._service.store.list_incidents(STATES, limit=limit, device=device)

    async def timeline(self, incident_id: int) -> Timeline:
        store = self._service.store
        return Timeline(
            audit=await store.audit_log(incident_id),
            notes=await store.notes(incident_id),
            sent=await store.sent_log(incident_id),
            breaches=await store.breaches(incident_id),
            occurrences=await store.occurrences(incident_id),
        )

    async def record(self, actor: str, action: str, detail: Mapping[str, Any]) -> None:
        store = self._service.store
        async with store.transaction():
            await store.audit(None, self._service.clock(), actor, action, detail)

    async def chat_callback(self, channel: str, inbound: Inbound) -> Reply:
        return await self._service.chat_callback(channel, inbound)

    async def ack_code(self, code: str, by: str) -> Incident:
        return await self._service.ack_code(code, by)


@dataclass(frozen=True)
class DaemonView:
    now: Callable[[], float]
    inventory: Callable[[], Inventory]
    latest: Callable[[], Mapping[SeriesKey, Sample]]
    not_answering: Callable[[], Set[str]]  # device ids whose last poll failed
    status_line: Callable[[], str]
    stats: Callable[[], Mapping[str, Any]]
    sinks: Callable[[], Sequence[tuple[str, Mapping[str, float]]]]
    incidents: Callable[[], Incidents]
    maintenance_file: Callable[[], Path]
    # how old a reading may be and still be on /metrics/devices (api.readings_stale_after)
    readings_stale_after: Callable[[], float] = lambda: DEFAULT_STALE_AFTER
    #: collectors, shards and leases when the store is shared (None: a single box)
    cluster: Callable[[], Awaitable[Mapping[str, Any]]] | None = None
    # the bounded recent history of readings (collector.history), None when it is off
    readings: Callable[[], GraphSource | None] = lambda: None
