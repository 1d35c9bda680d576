"""host:port parsing, one way for every address an admin writes.

Accepted: "host", "host:port", "[v6]", "[v6]:port" and a bare IPv6 address (no port then).
Probes, the trap receiver, the API and the demo all read addresses through `split_host_port`,
so "[::1]:161" means the same everywhere."""

from __future__ import annotations


def split_host_port(
    address: str,
    default_port: int | None = None,
    *,
    default_host: str | None = None,
    allow_port_zero: bool = False,
) -> tuple[str, int]:
    """(host, port) from an address. Without a port in the text, `default_port` is used, or
    ValueError when there is none; an empty host takes `default_host` ("":8765 → listen on all).
    Raises ValueError with a message naming the address."""
    text = address.strip()
    if text.startswith("["):
        host, closed, rest = text[1:].partition("]")
        if not closed or (rest and not rest.startswith(":")):
            raise ValueError(f"expected [IPv6]:PORT, found {address!r}")
        port_text = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""  # a bare name, or a bare IPv6 address
    if not host:
        if default_host is None:
            raise ValueError(f"no host in address {address!r}")
        host = default_host
    if not port_text:
        if default_port is None:
            raise ValueError(f"no port in address {address!r}: expected host:port")
        return host, default_port
    lowest = 0 if allow_port_zero else 1
    if not port_text.isdigit() or not lowest <= int(port_text) <= 65535:
        raise ValueError(
            f"bad port in address {address!r}: expected host:port, port {lowest}-65535"
        )
    return host, int(port_text)


def host_of(address: str) -> str:
    """The host part of an address ("[::1]:161" → "::1"); the text itself when it is not one."""
    try:
        return split_host_port(address, 0)[0]
    except ValueError:
        return address
