"""The HTTP API and the wall-screen page, served by the daemon (aiohttp).

    GET  /, /board[?room=NAME]          the wall screen (page, board)
    GET  /login, POST /login, /logout   signing in to the console (login, sessions)
    GET  /console…                      open incidents, an incident, history, devices,
                                        users (console, devices_page, login; docs/console.md)
    POST /console/incidents/{id}/ACTION ack | arrive | note | assign | resolve
    GET  /api/health                    {"status": "ok", …}                       (json_api)
    GET  /api/devices[?device=ID]       devices, their worst open level and latest readings
    GET  /api/incidents[?state=…]       active incidents (default) with their SLA clocks
    POST /api/incidents/{id}/ack        {"by": NAME, "note": TEXT?} → the incident
    GET  /ack/{id}?exp=…&sig=…&by=NAME  acknowledge from a signed link in a message
    GET  /api/maintenance               the maintenance windows                  (maintenance)
    POST /api/maintenance               {"select": {…}, "end": TIME | "duration": "2h", …}
    POST /api/maintenance/{id}/end      cut a window short now
    GET  /metrics                       the daemon's own figures, Prometheus text (metrics)
    GET  /metrics/devices               every device's latest readings, Prometheus text

Bound to `api.listen` (127.0.0.1:8765 by default); who may ask is `access`'s job (sessions,
roles, the session's CSRF token) on top of `auth`'s (token, cross-site writes, DNS rebinding). The handlers read the daemon only through `view.DaemonView`; `server` wires
them into one application and runs it."""
