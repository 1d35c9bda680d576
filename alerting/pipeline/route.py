"""Route: which channels hear about an incident."""

from __future__ import annotations

from fnmatch import fnmatchcase

from alerting.config import AlertingConfig, Route
from alerting.notifiers import notifier_class
from alerting.store import Incident


def _route_matches(route: Route, incident: Incident) -> bool:
    if incident.level not in route.levels:
        return False
    if route.sites and incident.site not in route.sites:
        return False
    if route.devices and not any(fnmatchcase(incident.device, g) for g in route.devices):
        return False
    return not route.rules or any(fnmatchcase(incident.rule, g) for g in route.rules)


def route(incident: Incident, config: AlertingConfig, only: list[str] | None = None) -> list[str]:
    """Channel names for `incident`, in config order. With routes, the first matching route
    wins (unless it says `continue: true`); without, every channel. A channel's own `levels`
    always apply. `only` narrows the result (an escalation tier's channels); a channel that
    rings only when named (voice) is in it only when `only` names it."""
    if config.routes:
        chosen: list[str] = []
        for candidate in config.routes:
            if _route_matches(candidate, incident):
                chosen.extend(n for n in candidate.notifiers if n not in chosen)
                if not candidate.continue_:
                    break
    else:
        chosen = [n.id for n in config.notifiers]
    out = []
    for name in chosen:
        entry = config.notifier(name)
        if only_when_named(entry.type) and not (only and name in only):
            continue  # a phone call: only where a tier asks for it by name
        if incident.level in entry.levels and (not only or name in only):
            out.append(name)
    return out


def only_when_named(kind: str) -> bool:
    return notifier_class(kind).only_when_named


def takes(kind: str, message_kind: str) -> bool:
    """Whether a channel of type `kind` takes messages of `message_kind`."""
    kinds = notifier_class(kind).kinds
    return kinds is None or message_kind in kinds
