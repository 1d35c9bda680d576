"""Signing in and out of the console, and the admin's users page.

    GET  /login[?next=PATH]        the form
    POST /login                    name, password, next → a session cookie and a redirect
    POST /logout                   ends the session
    GET  /console/users            (admin) users, roles, lock-outs
    POST /console/users/{name}/unlock

The password is checked by argon2 in a worker thread (it is slow on purpose). A locked name
or address is refused before its password is even checked, and the answer to a wrong name
is the answer to a wrong password. Sign-ins, failures, lock-outs and sign-outs are written to
the audit log under the name given, like every console action; of the refusals while locked,
only the first per name or address in a lock time (anyone can send them, at no cost)."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from collector.accounts import verify
from collector.api.access import Access, identity_of
from collector.api.console_page import PAGE_HEADERS, render, who_is
from collector.api.page import _static, clock_time, environment
from collector.api.sessions import COOKIE
from collector.api.view import DaemonView
from core import i18n

log = logging.getLogger("roomwatch.api")
NAME_LIMIT = 100


def safe_next(target: str) -> str:
    """Only a path of this server (never `//evil.example` or `https://…`): no open redirect.
    No control character or blank either: browsers drop tabs and newlines from a Location,
    so `/<TAB>/evil.example` would be `//evil.example`."""
    if (
        target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and all(" " < c != "\x7f" for c in target)
    ):
        return target
    return "/console"


def routes(view: DaemonView, access: Access) -> list[web.RouteDef]:
    def language() -> str:
        return view.incidents().language()

    def form_page(
        next_path: str, name: str = "", problem: str | None = None, status: int = 200
    ) -> web.Response:
        lang = language()
        html = (
            environment()
            .get_template("login.html")
            .render(
                language=lang,
                t=lambda key, **kw: i18n.t(f"console.{key}", lang, **kw),
                css=_static("console.css"),
                next=safe_next(next_path),
                name=name,
                problem=problem,
                has_users=access.has_users(),
            )
        )
        return web.Response(
            text=html,
            status=status,
            content_type="text/html",
            headers=PAGE_HEADERS,
        )

    async def login_form(request: web.Request) -> web.Response:
        who = identity_of(request)
        target = safe_next(request.query.get("next", "/console"))
        if who is not None and who.session is not None:
            raise web.HTTPSeeOther(target)
        return form_page(target)

    async def login(request: web.Request) -> web.Response:
        form = await request.post()
        name = str(form.get("name", "")).strip()[:NAME_LIMIT]
        password = str(form.get("password", ""))
        target = safe_next(str(form.get("next", "/console")))
        address = access.client_address(request)
        incidents = view.incidents()
        until = access.lockout.begin(name, address)
        if until is not None:
            if access.lockout.first_refusal(name, address):
                await incidents.record(name or "?", "login-refused", {"address": address})
            problem = i18n.t("console.locked", language(), until=clock_time(until))
            return form_page(target, name, problem, 429)
        entry = access.directory.get(name) if access.directory else None
        try:
            genuine = await asyncio.to_thread(verify, entry, password) and entry is not None
        except BaseException:  # cancelled meanwhile: settled as a failure, never left open
            access.lockout.failed(name, address)
            raise
        if not genuine or entry is None:
            locked = access.lockout.failed(name, address)
            await incidents.record(
                name or "?", "login-failed", {"address": address, "locked": locked}
            )
            log.warning("console sign-in failed", extra={"user": name, "address": address})
            return form_page(target, name, i18n.t("console.bad_login", language()), 401)
        access.lockout.succeeded(name, address)
        session = access.sessions.start(entry)
        await incidents.record(entry.name, "login", {"address": address})
        log.info("console sign-in", extra={"user": entry.name, "role": entry.role})
        response = web.HTTPSeeOther(target)
        response.set_cookie(
            COOKIE,
            session.id,
            max_age=int(access.sessions.lifetime),
            path="/",
            httponly=True,
            samesite="Lax",
            secure=access.is_secure(request),
        )
        raise response

    async def logout(request: web.Request) -> web.Response:
        ended = access.sessions.end(request.cookies.get(COOKIE))
        if ended is not None:
            await view.incidents().record(ended.user, "logout", {})
        response = web.HTTPSeeOther("/login")
        response.del_cookie(COOKIE, path="/")
        raise response

    async def users_page(request: web.Request) -> web.Response:
        entries = access.directory.entries() if access.directory else {}
        return render(
            request,
            view,
            "console_users.html",
            "users",
            users=sorted(entries.values(), key=lambda u: u.name),
            locked=access.lockout.locked_names(),
            sessions=access.sessions.count(),
            path=str(access.directory.path) if access.directory else "",
        )

    async def unlock(request: web.Request) -> web.Response:
        who = who_is(request)
        name = request.match_info["name"]
        if access.lockout.unlock(name):
            await view.incidents().record(who.name, "unlocked", {"user": name})
        raise web.HTTPSeeOther("/console/users")

    return [
        web.get("/login", login_form),
        web.post("/login", login),
        web.post("/logout", logout),
        web.get("/console/users", users_page),
        web.post("/console/users/{name}/unlock", unlock),
    ]
