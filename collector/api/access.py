"""Who is asking, and what they may do: the one middleware every request passes.

A request is somebody (an `Identity`) by one of:
    session  the console's cookie (collector.api.sessions), a user of the users file
    token    `Authorization: Bearer TOKEN` (scripts; `?token=` on the wall-screen page only)
    local    nobody at all, allowed only as before: no token and no users configured, and
             the request came to a loopback name (auth.browser_refusal guards rebinding)
The console (/console…) always needs a session; without one a page is sent to /login.

What each may do: reading needs any identity; a state change (POST) needs the operator
role (a token or local counts as admin: scripts could always do everything); /console/users
needs admin. A state change inside a session must also carry the session's CSRF token (the
`csrf` form field or an `X-CSRF-Token` header), on top of auth.browser_refusal's Origin and
Sec-Fetch-Site check: either one alone refuses a forged cross-site form."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote

from aiohttp import web
from aiohttp.typedefs import Middleware

from collector.accounts import UserDirectory, role_allows
from collector.api.auth import (
    ACK_LINK_PREFIX,
    CALLBACK_PREFIX,
    SAFE_METHODS,
    browser_refusal,
    token_matches,
)
from collector.api.replies import error
from collector.api.sessions import COOKIE, LockOut, Session, Sessions

log = logging.getLogger("roomwatch.api")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# a reporter's follow link is its own proof too (its HMAC): no login, no token
PUBLIC_PREFIXES = ("/login", ACK_LINK_PREFIX, "/follow/")
IDENTITY: web.RequestKey[Identity | None]  # set below, once Identity exists
CONSOLE_PREFIX = "/console"
ADMIN_PREFIX = "/console/users"
ANY_ROLE_POSTS = ("/login", "/logout")


@dataclass(frozen=True)
class Identity:
    name: str  # who acts, as the audit log will say
    role: str  # viewer | operator | admin
    via: str  # session | token | local
    session: Session | None = None

    def may(self, needed: str) -> bool:
        return role_allows(self.role, needed)


IDENTITY = web.RequestKey("identity", Identity | None)  # type: ignore[arg-type]


def identity_of(request: web.Request) -> Identity | None:
    return request.get(IDENTITY)


def signed_in_name(request: web.Request) -> str | None:
    """The console user behind a request, when it came in a session: what the audit log
    must name, whatever a `by` field in the body claims. None for a token or loopback."""
    who = identity_of(request)
    return who.name if who is not None and who.session is not None else None


class Access:
    """The token, the users, their sessions and the lock-out, for one running API."""

    def __init__(
        self,
        token: Callable[[], str | None],
        directory: UserDirectory | None,
        now: Callable[[], float],
        session_seconds: float = 12 * 3600.0,
        behind_proxy: bool = False,
    ) -> None:
        self.token = token
        self.directory = directory
        self.now = now
        self.behind_proxy = behind_proxy
        self.sessions = Sessions(directory, now, session_seconds)
        self.lockout = LockOut(now)

    def has_users(self) -> bool:
        return self.directory is not None and self.directory.any()

    def anonymous_allowed(self) -> bool:
        return self.token() is None and not self.has_users()

    def _trusted_proxy(self, request: web.Request) -> bool:
        if not self.behind_proxy or request.remote is None:
            return False
        try:
            return ipaddress.ip_address(request.remote).is_loopback
        except ValueError:
            return False

    def is_secure(self, request: web.Request) -> bool:
        """Whether the browser reached us over TLS (so the cookie may be marked Secure)."""
        if request.secure:
            return True
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        return self._trusted_proxy(request) and proto == "https"

    def client_address(self, request: web.Request) -> str:
        if self._trusted_proxy(request):
            forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
            if forwarded:
                return forwarded
        return request.remote or "unknown"

    def identify(self, request: web.Request) -> Identity | None:
        found = self.sessions.find(request.cookies.get(COOKIE))
        if found is not None:
            session, user = found
            return Identity(user.name, user.role, "session", session)
        current = self.token()
        if current is not None and token_matches(request, current):
            return Identity("api-token", "admin", "token")
        if self.anonymous_allowed():
            return Identity("local", "admin", "local")
        return None


def _public(path: str) -> bool:
    return any(path == p.rstrip("/") or path.startswith(p) for p in PUBLIC_PREFIXES)


def _to_login(request: web.Request) -> web.Response:
    target = request.path_qs if request.method in SAFE_METHODS else "/console"
    raise web.HTTPSeeOther(f"/login?next={quote(target, safe='/')}")


def guard(access: Access) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method in ("POST", "GET") and request.path.startswith(CALLBACK_PREFIX):
            # a chat platform's callback: proved by the platform's signature (collector/api/
            # chat.py), with no token, session or loopback Host to offer
            return await handler(request)
        refusal = browser_refusal(
            request.method, request.headers, token_required=not access.anonymous_allowed()
        )
        if refusal is not None:
            log.warning("API request refused", extra={"path": request.path, "reason": refusal})
            return error(403, refusal)
        path = request.path
        who = access.identify(request)
        if _public(path) or path == "/logout":
            request[IDENTITY] = who
            if who is not None and who.session is not None and request.method not in SAFE_METHODS:
                await _check_csrf(request, who.session)
            return await handler(request)
        console = path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/")
        if console and (who is None or who.session is None):
            return _to_login(request)
        if who is None:
            if access.has_users() and request.method in SAFE_METHODS and path in ("/", "/board"):
                return _to_login(request)
            response = error(401, "sign in, or send a valid token (Authorization: Bearer …)")
            response.headers["WWW-Authenticate"] = 'Bearer realm="roomwatch"'
            return response
        if request.method not in SAFE_METHODS:
            if who.session is not None:
                await _check_csrf(request, who.session)
            if not who.may("operator"):
                return _forbidden(request, who, "your role may look but not act")
        if path.startswith(ADMIN_PREFIX) and not who.may("admin"):
            return _forbidden(request, who, "only an admin may manage users")
        request[IDENTITY] = who
        return await handler(request)

    return middleware


def _forbidden(request: web.Request, who: Identity, why: str) -> web.Response:
    log.warning(
        "API request refused",
        extra={"path": request.path, "user": who.name, "role": who.role, "reason": why},
    )
    return error(403, f"{who.name} ({who.role}): {why}")


async def _check_csrf(request: web.Request, session: Session) -> None:
    offered = request.headers.get("X-CSRF-Token")
    if offered is None and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        form = await request.post()  # kept by aiohttp: the handler reads the same form
        value = form.get("csrf")
        offered = value if isinstance(value, str) else None
    if not session.csrf_matches(offered):
        log.warning(
            "request without its session's CSRF token refused", extra={"path": request.path}
        )
        raise web.HTTPForbidden(
            text='{"error": "this form has expired or came from another site: reload the page"}',
            content_type="application/json",
        )
