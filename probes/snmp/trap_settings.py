"""The settings of the SNMP trap receiver (the `traps:` section of roomwatch.yaml, documented
with the receiver in `traps`): where to listen, which communities and v3 users may send, which
source address is which device. Kept apart from the receiver so loading the configuration does
not import it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.hostport import split_host_port
from probes.base import secret_field
from probes.snmp.usm import AuthProtocol, PrivProtocol


class TrapUser(BaseModel):
    """An SNMPv3 user allowed to send notifications. Traps are authenticated with the
    sender's engine id (`engine_id`, hex); informs with ours, so both are configured."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user: str
    auth_protocol: AuthProtocol = "sha"
    auth_key: str | None = secret_field()
    priv_protocol: PrivProtocol = "none"
    priv_key: str | None = secret_field()
    engine_id: str | None = Field(default=None, pattern=r"^(0x)?[0-9a-fA-F]{10,64}$")

    @field_validator("auth_protocol", "priv_protocol", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return str(value).lower().replace("-", "")


class SnmpTrapSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    listen: str = "0.0.0.0:162"
    credentials: list[str] = Field(default_factory=list)
    communities: list[str] = Field(default_factory=list, repr=False)  # merged from credentials
    users: list[TrapUser] = Field(default_factory=list)  # merged from credentials
    devices: dict[str, str] = Field(default_factory=dict)

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        listen_address(value)
        return value

    def with_credentials(
        self, entries: Mapping[str, Mapping[str, str]] | Callable[[str], Mapping[str, str]]
    ) -> SnmpTrapSettings:
        """These settings with the named credentials entries merged in: an entry with
        `community` adds a community, one with `user` adds a v3 user. `entries` is a mapping
        of entry name → keys, or a lookup such as `Credentials.entry`. Raises KeyError naming
        a missing entry, ValueError for an entry that is neither."""
        communities = list(self.communities)
        users = list(self.users)
        for name in self.credentials:
            if callable(entries):
                entry = dict(entries(name))  # the lookup raises KeyError naming the entry
            elif name in entries:
                entry = dict(entries[name])
            else:
                raise KeyError(f"traps: no credentials entry {name!r}")
            has_community = "community" in entry
            if has_community:
                communities.append(entry.pop("community"))
            if "user" in entry:
                users.append(TrapUser.model_validate(entry))
            elif not has_community:
                raise ValueError(f"traps: credentials entry {name!r} has no community or user")
        return self.model_copy(update={"communities": communities, "users": users})


def listen_address(text: str) -> tuple[str, int]:
    return split_host_port(text, None, default_host="0.0.0.0", allow_port_zero=True)
