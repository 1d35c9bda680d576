"""The HTML the API serves, rendered by Jinja2 with auto-escaping: the wall-screen status page
at `/` (and `/board`), and the form a signed acknowledge link opens on a phone.

The status page is one self-contained document: its CSS and script are inlined from
`collector/api/static/` and nothing comes from the internet. It reloads its content every
`refresh` seconds by itself; if the daemon stops answering it keeps the last board on screen
and says since when it is stale. Every name, summary and note is escaped by the template
engine; only the shipped stylesheet and script are inserted as they are.

The Jinja2 environment is the API's own: the reports' templates (alerting/) have theirs."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from importlib import resources

import jinja2
from aiohttp import web
from markupsafe import Markup

from collector.api.board import Board, build_board
from collector.api.view import DaemonView
from core import i18n
from inventory import ConfigError
from rules import maintenance

ENVIRONMENT_COLUMNS = (("ambient.temperature", "temperature"), ("ambient.humidity", "humidity"))
UPS_COLUMNS = (
    ("ups.status", "status"),
    ("battery.charge", "charge"),
    ("battery.runtime", "runtime"),
    ("ups.load", "load"),
    ("input.voltage", "input"),
    ("output.voltage", "output"),
)


# What fits a 1080p screen at wall-screen sizes without scrolling; the rest is counted.
WALL_INCIDENTS = 6
WALL_ROOMS = 6


def format_remaining(seconds: float) -> str:
    """`12:05` (minutes:seconds) below an hour, `3h 05m` above; negative means overdue."""
    seconds = abs(int(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}:{seconds % 60:02d}"


def clock_time(ts: float) -> str:
    return datetime.fromtimestamp(ts).astimezone().strftime("%H:%M:%S")


def when(ts: float | None) -> str:
    """A moment as a person reads it in a list: local date and minute."""
    if ts is None:
        return "–"
    return datetime.fromtimestamp(ts).astimezone().strftime("%Y-%m-%d %H:%M")


def level_class(level: int) -> str:
    return f"l{min(max(level, 1), 3)}"


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("collector.api", "templates"),
        autoescape=True,  # every value shown is escaped, whatever the file's name
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,  # a misspelt name fails the render, not blank text
    )
    env.filters.update(
        remaining=format_remaining,
        clock=clock_time,
        when=when,
        level_class=level_class,
        language_tag=i18n.language_tag,
    )
    return env


@cache
def _static(name: str) -> Markup:
    # Our own shipped files, inserted unescaped (escaping would break CSS selectors and JS).
    text = resources.files("collector.api.static").joinpath(name).read_text(encoding="utf-8")
    return Markup(text)


def render(board: Board, title: str = "roomwatch") -> str:
    """The whole status page."""
    return (
        environment()
        .get_template("board.html")
        .render(
            board=board,
            title=title,
            t=lambda key, **kw: i18n.t(f"status.{key}", board.language, **kw),
            css=_static("board.css"),
            script=_static("board.js"),
            environment_columns=ENVIRONMENT_COLUMNS,
            ups_columns=UPS_COLUMNS,
            wall_incidents=WALL_INCIDENTS,
            wall_rooms=WALL_ROOMS,
        )
    )


def ack_form(incident: int, expires: str, sig: str, name_limit: int) -> str:
    """The page asking who acknowledges, for a signed link opened without `by=`."""
    return (
        environment()
        .get_template("ack_form.html")
        .render(incident=incident, expires=expires, sig=sig, name_limit=name_limit)
    )


def routes(view: DaemonView) -> list[web.RouteDef]:
    async def status_page(request: web.Request) -> web.Response:
        now = view.now()
        incidents = view.incidents()
        try:
            windows = maintenance.load_windows(view.maintenance_file())
        except ConfigError:
            windows = []  # the daemon logs a bad maintenance file; the board still shows
        board = build_board(
            view.inventory(),
            await incidents.active(),
            dict(view.latest()),
            windows,
            incidents.sla_for,
            incidents.language(),
            now,
            # one room of the desk: `?room=hall-a` or `?room=dc1/hall-a` (board.in_scope)
            scope=request.query.get("room", "").strip() or None,
        )
        return web.Response(
            text=render(board), content_type="text/html", headers={"Cache-Control": "no-store"}
        )

    return [web.get("/", status_page), web.get("/board", status_page)]
