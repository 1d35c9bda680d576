"""The probe interface and the probe error tree.

A probe is built from its validated settings and then asked to `poll` its device; it returns
Samples or raises one of the errors below. The collector turns an error into `device.up = 0`
with the error's `reason` as the note, and logs it once per transition; probes never log.

    ProbeError                 reason "error"
    ├── ProbeTimeout           reason "timeout"     the device did not answer in time
    ├── ProbeUnreachable       reason "refused"     no route, connection refused, port gone
    ├── ProbeAuthError         reason "auth"        wrong community/keys/password/host key
    └── ProbeProtocolError     reason "protocol"    it answered, but not what the protocol says
        └── ProbeTlsError      reason "tls"         TLS handshake or certificate check failed
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from core.durations import Duration
from core.sample import Sample
from probes.metric_names import MetricNames


class ProbeError(Exception):
    """A poll that failed. `samples` are readings the probe still has to report (a website
    probe reports `http.up = 0`); the collector adds `device.up = 0` with `reason` as note."""

    reason: ClassVar[str] = "error"

    def __init__(self, message: str, samples: Sequence[Sample] = ()) -> None:
        super().__init__(message)
        self.samples = list(samples)


class ProbeTimeout(ProbeError):
    reason = "timeout"


class ProbeUnreachable(ProbeError):
    reason = "refused"


class ProbeAuthError(ProbeError):
    reason = "auth"


class ProbeProtocolError(ProbeError):
    reason = "protocol"


class ProbeTlsError(ProbeProtocolError):
    """TLS handshake or certificate verification failed."""

    reason = "tls"


class ProbeSettings(BaseModel):
    """Settings every probe entry accepts; each probe extends this with its own keys.

    `interval` and `timeout` are seconds (YAML may say "30s", "5m")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    credentials: str | None = None  # name of an entry in the credentials file
    interval: Duration = Field(default=60.0, gt=0)
    timeout: Duration = Field(default=10.0, gt=0)


def secret_field(default: str | None = None) -> Any:
    """A settings field that holds a secret (community, key, password, token).

    In inventory files such a field may not be written inline: the entry names a credentials
    entry (`credentials: NAME`) whose keys are merged into the settings when the probe is
    built. On the command line (`roomwatch probe`) it may be given directly, as `snmpwalk`
    takes a community. Secret fields are left out of `repr`."""
    return Field(default=default, repr=False, json_schema_extra={"secret": True})


def secret_fields(model: type[BaseModel]) -> set[str]:
    out = set()
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra
        if isinstance(extra, dict) and extra.get("secret"):
            out.add(name)
    return out


class Probe(ABC):
    """Reads one device. Subclasses set `type_name` and `settings_model`."""

    type_name: ClassVar[str]
    settings_model: ClassVar[type[ProbeSettings]]

    def __init__(self, device: str, settings: ProbeSettings) -> None:
        # Secrets are already merged into `settings` (from the credentials entry the
        # inventory names, or from the command line).
        self.device = device
        self.settings = settings

    @abstractmethod
    async def poll(self, now: float) -> Sequence[Sample]:
        """Read the device once. `now` stamps the samples. Raises only ProbeError subclasses."""

    def exclusive_resource(self) -> str | None:
        """A name for a line this probe shares with others that carries one transaction at a
        time (a serial port, a Modbus gateway). The collector polls one probe per name at a
        time, and the wait is not counted in the poll's timeout. Default: none."""
        return None

    async def close(self) -> None:
        """Release connections held between polls (default: none)."""
        return None

    @classmethod
    def metric_names(cls, settings: ProbeSettings) -> MetricNames:
        """The metrics a probe with these settings can produce (for `roomwatch check`'s
        warning about rules on metrics nothing produces). Default: it cannot tell."""
        return MetricNames.anything()

    @classmethod
    def cli_target(cls, target: str) -> dict[str, object]:
        """Map the TARGET argument of `roomwatch probe TYPE TARGET` to settings keys."""
        return {"address": target}
