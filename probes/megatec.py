"""The `megatec` probe: UPS units speaking the Megatec/"Q1" ASCII protocol over RS-232 or a
USB-serial bridge, read with pyserial.

It owns the protocol: the `Q1` status line turned into Network UPS Tools names and `ups.status`
flags, the rating (`F`) and identity (`I`) queries asked once per connection where the UPS
answers them, and every way real units misbehave (NAK, echo of an unsupported command, garbage
before the line, a missing CR, NUL bytes, `@`/`---.-` fields, an all-zero "not ready" line,
silence). The protocol notes are in tests/fixtures/recorded/megatec/PROTOCOL.md.

Example inventory entry:

```yaml
probes:
  - type: megatec
    port: /dev/ttyS0
    baudrate: 2400          # the protocol's speed; some USB bridges ignore it
    battery_cells: 6        # online units report volts per cell; multiply to get the pack
    interval: 30s
    timeout: 3s
```
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from pydantic import Field

from core.sample import Sample, Value
from probes.base import Probe, ProbeProtocolError, ProbeSettings, ProbeTimeout
from probes.metric_names import MetricNames
from probes.serial_bus import LineSettings, SerialPort, release_serial_port, serial_port


class MegatecSettings(ProbeSettings):
    port: str
    baudrate: int = Field(default=2400, gt=0)
    status_command: Literal["Q1", "QS", "D"] = "Q1"
    # Online (double-conversion) units send the battery voltage per cell; with the number of
    # cells the probe reports the pack voltage, without it battery.voltage is left out.
    battery_cells: int | None = Field(default=None, gt=0, le=1000)
    query_rating: bool = True
    query_identity: bool = True
    reply_timeout: float = Field(default=1.5, gt=0, le=30)


# -- pure parsing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """One decoded reply: NUT variable name → (value, unit)."""

    values: dict[str, tuple[Value, str | None]] = field(default_factory=dict)


_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_PER_CELL = re.compile(r"^\d\.\d\d$")  # S.SS: volts per cell, sent by online units


def clean_reply(raw: bytes) -> str:
    """The text of one reply line: a USB string-descriptor wrapper undone, everything after the
    first CR dropped (stale bytes of a USB bridge), noise before the marker skipped.

    Raises ProbeProtocolError for NUL-only or non-text replies."""
    data = raw
    # A reply wrapped in a USB string descriptor: length, type 0x03, then UTF-16LE text.
    if len(data) >= 4 and data[1] == 0x03 and data[3] == 0x00 and data[2] in b"(#":
        data = data[2:].decode("utf-16-le", errors="replace").encode("ascii", errors="replace")
    cr = data.find(b"\r")
    if cr >= 0:
        data = data[:cr]
    start = min((i for i in (data.find(b"("), data.find(b"#")) if i >= 0), default=-1)
    if start > 0:
        data = data[start:]
    if not data.strip(b"\0 "):
        raise ProbeProtocolError("the UPS sent only NUL bytes or blanks (is it switched off?)")
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise ProbeProtocolError("the UPS sent bytes that are not ASCII text") from None
    if "\0" in text:
        raise ProbeProtocolError("the UPS sent a NUL byte inside its reply")
    return text


def _number(token: str) -> float | None:
    """A numeric field, or None when the UPS marks it unavailable (`@@@`, `---.-`)."""
    if "@" in token or "--" in token or not token.strip("-."):
        return None
    if not _NUMBER.match(token):
        raise ProbeProtocolError(f"status field {token!r} is not a number")
    return float(token)


def status_flags(bits: str, input_v: float | None, output_v: float | None) -> list[str]:
    """NUT `ups.status` flags from the eight Q1 status bits (b7 first)."""
    on_battery = bits[0] == "1"
    flags = ["OB", "DISCHRG"] if on_battery else ["OL"]
    if bits[1] == "1":
        flags.append("LB")
    if bits[2] == "1" and input_v and output_v is not None:
        # One bit means "bypass or AVR active"; the voltage ratio tells which, as NUT decides.
        ratio = output_v / input_v
        if 0.5 <= ratio < 0.95:
            flags.append("TRIM")
        elif 0.95 <= ratio <= 1.05:
            flags.append("BYPASS")
        elif 1.05 < ratio <= 1.5:
            flags.append("BOOST")
    if bits[3] == "1":
        flags.append("ALARM")
    if bits[5] == "1":
        flags.append("CAL")
    if bits[6] == "1":
        flags.append("FSD")
    return flags


def parse_status(text: str, battery_cells: int | None = None) -> Reading:
    """Decode a Q1/QS/D status line (`(MMM.M NNN.N PPP.P QQQ RR.R S.SS TT.T bbbbbbbb`).

    Raises ProbeProtocolError for anything that is not a well-formed status line, and for the
    all-zero line units send while not ready (0 V input "on line" is not a reading)."""
    if text in ("(NAK", "NAK"):
        raise ProbeProtocolError("the UPS refused the status query (NAK)")
    if not text.startswith("("):
        raise ProbeProtocolError(f"not a status line: {text[:60]!r}")
    tokens = text[1:].split()
    # Some vendors append fields after the status bits; the first eight keep their meaning.
    if len(tokens) < 8:
        raise ProbeProtocolError(f"status line has {len(tokens)} fields, expected 8: {text!r}")
    bits = tokens[7]
    if len(bits) != 8 or set(bits) - {"0", "1"}:
        raise ProbeProtocolError(f"status bits {bits!r} are not eight 0/1 characters")
    numbers = [_number(t) for t in tokens[:7]]
    if all(n == 0 for n in numbers) and bits == "00000000":
        raise ProbeProtocolError("the UPS sent an all-zero status line (not ready)")
    in_v, fault_v, out_v, load, freq, batt, temp = numbers
    values: dict[str, tuple[Value, str | None]] = {}

    def put(name: str, value: float | None, unit: str | None) -> None:
        if value is not None:
            values[name] = (value, unit)

    put("input.voltage", in_v, "V")
    put("input.voltage.fault", fault_v, "V")
    put("output.voltage", out_v, "V")
    put("ups.load", load, "%")
    put("input.frequency", freq, "Hz")
    if batt is not None:
        if not _PER_CELL.match(tokens[5]):
            put("battery.voltage", batt, "V")
        elif battery_cells:
            put("battery.voltage", round(batt * battery_cells, 2), "V")
    put("ups.temperature", temp, "°C")
    flags = status_flags(bits, in_v, out_v)
    values["ups.status"] = (" ".join(flags), None)
    if bits[3] == "1":
        values["ups.alarm"] = ("UPS failed", None)
    values["ups.type"] = ("offline / line interactive" if bits[4] == "1" else "online", None)
    values["ups.beeper.status"] = ("enabled" if bits[7] == "1" else "disabled", None)
    return Reading(values)


def parse_rating(text: str) -> Reading:
    """Decode an `F` reply (`#MMM.M QQQ SS.SS RR.R`). All-zero or malformed → no ratings."""
    if not text.startswith("#"):
        raise ProbeProtocolError(f"not a rating line: {text[:60]!r}")
    tokens = text[1:].split()
    if len(tokens) != 4 or not all(_NUMBER.match(t) for t in tokens):
        raise ProbeProtocolError(f"malformed rating line: {text!r}")
    voltage, current, battery, frequency = (float(t) for t in tokens)
    # Widths differ between vendors (`10`, `010`, `010.0` A); zeros are what a unit that has
    # no ratings sends.
    if voltage == 0 or frequency == 0:
        raise ProbeProtocolError(f"rating line carries no ratings: {text!r}")
    return Reading(
        {
            "input.voltage.nominal": (voltage, "V"),
            "input.current.nominal": (current, "A"),
            "battery.voltage.nominal": (battery, "V"),
            "input.frequency.nominal": (frequency, "Hz"),
        }
    )


def parse_identity(text: str) -> Reading:
    """Decode an `I` reply: `#` + company(15) + ` ` + model(10) + ` ` + version(10).

    Real units shift or blank the columns; when the fixed layout does not hold, the whole text
    becomes `device.model` rather than being cut at the wrong places."""
    if not text.startswith("#"):
        raise ProbeProtocolError(f"not an identity line: {text[:60]!r}")
    body = text[1:]
    values: dict[str, tuple[Value, str | None]] = {}
    fixed = len(body) == 37 and body[15] == " " and body[26] == " "
    if fixed and body[:15].strip():
        mfr, model, firmware = body[:15].strip(), body[16:26].strip(), body[27:].strip()
        if mfr:
            values["device.mfr"] = (mfr, None)
        if model:
            values["device.model"] = (model, None)
        if firmware:
            values["ups.firmware"] = (firmware, None)
    elif body.strip():
        values["device.model"] = (" ".join(body.split()), None)
    return Reading(values)


def is_refusal(text: str, command: str) -> bool:
    """An echo of the command (unsupported) or a NAK."""
    return text.strip() in (command, "(NAK", "NAK")


# -- the probe ------------------------------------------------------------------------------


MEGATEC_METRICS = frozenset(
    {
        "battery.voltage",
        "battery.voltage.nominal",
        "device.mfr",
        "device.model",
        "input.current.nominal",
        "input.frequency",
        "input.frequency.nominal",
        "input.voltage",
        "input.voltage.fault",
        "input.voltage.nominal",
        "output.voltage",
        "ups.alarm",
        "ups.beeper.status",
        "ups.firmware",
        "ups.load",
        "ups.status",
        "ups.temperature",
        "ups.type",
    }
)


class MegatecProbe(Probe):
    type_name: ClassVar[str] = "megatec"
    settings_model: ClassVar[type[ProbeSettings]] = MegatecSettings

    @classmethod
    def metric_names(cls, settings: ProbeSettings) -> MetricNames:
        # what the Q1, F and I answers map to (NUT names), and the status flags
        return MetricNames(MEGATEC_METRICS)

    def __init__(self, device: str, settings: ProbeSettings) -> None:
        super().__init__(device, settings)
        assert isinstance(settings, MegatecSettings)
        self.cfg = settings
        # The static answers, asked once: None = not asked yet, empty = the UPS has none.
        self._rating: Reading | None = None
        self._identity: Reading | None = None
        self._serial: SerialPort | None = None

    @classmethod
    def cli_target(cls, target: str) -> dict[str, object]:
        return {"port": target}

    def exclusive_resource(self) -> str | None:
        return f"serial:{self.cfg.port}"  # a serial line carries one exchange at a time

    def _port(self) -> SerialPort:
        if self._serial is None:
            self._serial = serial_port(self.cfg.port, LineSettings(baudrate=self.cfg.baudrate))
        return self._serial

    async def _ask(self, command: str, wait_s: float) -> str:
        reply = await self._port().exchange(
            command.encode("ascii") + b"\r",
            terminator=b"\r",
            read_s=wait_s,
            idle_gap=0.25,
            max_bytes=256,
        )
        return clean_reply(reply.data)

    async def poll(self, now: float) -> Sequence[Sample]:
        loop = asyncio.get_running_loop()
        # The collector cancels the whole poll at `timeout`; the optional queries get only what
        # the status query left of it, so a UPS that stays silent on F/I never costs the status.
        deadline = loop.time() + self.cfg.timeout * 0.9
        wait_s = min(self.cfg.reply_timeout, self.cfg.timeout)
        command = self.cfg.status_command
        text = await self._ask(command, wait_s)
        if is_refusal(text, command):
            raise ProbeProtocolError(
                f"{self.device}: the UPS on {self.cfg.port} does not answer {command}"
            )
        readings = [parse_status(text, self.cfg.battery_cells)]
        if self.cfg.query_rating:
            if self._rating is None:
                self._rating = await self._optional("F", parse_rating, wait_s, deadline)
            readings.append(self._rating or Reading())
        if self.cfg.query_identity:
            if self._identity is None:
                self._identity = await self._optional("I", parse_identity, wait_s, deadline)
            readings.append(self._identity or Reading())
        return [
            Sample(self.device, name, value, unit=unit, ts=now)
            for reading in readings
            for name, (value, unit) in reading.values.items()
        ]

    async def _optional(
        self, command: str, parse: Callable[[str], Reading], wait_s: float, deadline: float
    ) -> Reading | None:
        """A query the UPS may not support: silence for the full `wait_s`, an echo, NAK or a
        broken line mean "no such data" (and it is not asked again until the probe is
        rebuilt). None when the poll's time ran short before that was known: ask next poll."""
        wait = min(wait_s, deadline - asyncio.get_running_loop().time())
        if wait <= 0:
            return None
        try:
            text = await self._ask(command, wait)
        except ProbeTimeout:
            return Reading() if wait >= wait_s else None
        except ProbeProtocolError:
            return Reading()
        if is_refusal(text, command):
            return Reading()
        try:
            return parse(text)
        except ProbeProtocolError:
            return Reading()

    async def close(self) -> None:
        self._rating = self._identity = None
        if self._serial is not None:
            self._serial = None
            release_serial_port(self.cfg.port)
