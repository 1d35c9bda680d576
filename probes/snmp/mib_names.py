"""Names for OIDs, from the MIBs an admin compiled (`roomwatch mibs compile`, `mib_dirs:`).

`MibNames.load(dirs)` reads the JSON files pysmi wrote; then

    names.name_of((1,3,6,1,2,1,2,2,1,2,3))   -> "IF-MIB::ifDescr.3"
    names.oid_of("IF-MIB::ifDescr")          -> (1,3,6,1,2,1,2,2,1,2)
    names.oid_of("ifDescr.3"), names.oid_of("1.3.6.1.2.1.2.2.1.2.3")   (bare names, numbers)
    names.value_text(oid, 2)                 -> "down(2)" for an enumerated object

An OID no MIB names more deeply than `iso`/`enterprises` keeps its numbers: a name is the
longest known prefix plus the remaining arcs as the index, and `.1.3.6.1.4.1` alone is no
help to anyone, so prefixes shorter than 7 arcs are not used. Without MIBs every lookup
answers None and callers show numbers, as before.

A name defined by several modules (an object re-declared by a vendor) resolves to the first
module in file-name order; write `MODULE::name` to choose."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from probes.snmp import ber
from probes.snmp.ber import Oid

log = logging.getLogger("roomwatch.snmp")

# Below this many arcs a prefix names a registration branch (enterprises = 1.3.6.1.4.1), not
# the thing sent; such an OID is better shown as numbers.
MIN_NAMED_ARCS = 7


class UnknownName(ValueError):
    """A name no compiled MIB defines, or text that is neither a name nor an OID."""


@dataclass(frozen=True)
class Symbol:
    module: str
    name: str
    oid: Oid
    kind: str  # pysmi's class: objecttype, notificationtype, objectidentity, …
    enums: Mapping[int, str] = field(default_factory=dict)

    @property
    def full(self) -> str:
        return f"{self.module}::{self.name}"


@dataclass
class MibNames:
    by_oid: dict[Oid, Symbol] = field(default_factory=dict)
    by_name: dict[str, Symbol] = field(default_factory=dict)  # "MOD::name" and "name"
    modules: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.by_oid)

    @classmethod
    def load(cls, dirs: Iterable[Path]) -> MibNames:
        """Every compiled module in the directories. A file that is not pysmi's JSON is
        logged and skipped: one bad file must not cost the names of the others."""
        names = cls()
        for directory in dirs:
            for path in sorted(Path(directory).glob("*.json")):
                try:
                    data = json.loads(path.read_text(encoding="utf-8"))
                    names.add_module(data)
                except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
                    log.warning("event=mib_file_skipped file=%s reason=%s", path, exc)
        return names

    def add_module(self, data: Mapping[str, object]) -> None:
        meta = data.get("meta")
        if not isinstance(meta, Mapping) or not isinstance(meta.get("module"), str):
            return  # pysmi's index.json, or something else
        module = str(meta["module"])
        self.modules.add(module)
        for name, entry in data.items():
            if not isinstance(entry, Mapping) or not isinstance(entry.get("oid"), str):
                continue
            try:
                oid = ber.parse_oid(str(entry["oid"]))
            except ValueError:
                continue
            symbol = Symbol(module, name, oid, str(entry.get("class", "")), _enums(entry))
            self.by_oid.setdefault(oid, symbol)
            self.by_name.setdefault(symbol.full, symbol)
            self.by_name.setdefault(name, symbol)

    def symbol_of(self, oid: Oid) -> tuple[Symbol, Oid] | None:
        """The most specific named prefix of `oid` and the arcs after it."""
        for length in range(len(oid), MIN_NAMED_ARCS - 1, -1):
            symbol = self.by_oid.get(oid[:length])
            if symbol is not None:
                return symbol, oid[length:]
        return None

    def name_of(self, oid: Oid) -> str | None:
        found = self.symbol_of(oid)
        if found is None:
            return None
        symbol, rest = found
        return symbol.full + "".join(f".{arc}" for arc in rest)

    def text_of(self, oid: Oid) -> str:
        """The name when a MIB has one, else the numbers."""
        return self.name_of(oid) or ber.format_oid(oid)

    def oid_of(self, text: str) -> Oid:
        """`MODULE::name[.index]`, `name[.index]` or a numeric OID. Raises UnknownName."""
        text = text.strip()
        if text and (text[0].isdigit() or text[0] == "."):
            try:
                return ber.parse_oid(text)
            except ValueError:
                raise UnknownName(f"{text!r} is not an OID") from None
        head, _, index = text.partition(".")
        if "::" in text:
            module, _, rest = text.partition("::")
            head, _, index = rest.partition(".")
            head = f"{module}::{head}"
        symbol = self.by_name.get(head)
        if symbol is None:
            known = f" (compiled: {', '.join(sorted(self.modules))})" if self.modules else ""
            raise UnknownName(
                f"no compiled MIB defines {head!r}{known}; compile its MIB with "
                "'roomwatch mibs compile FILE --out DIR' and name DIR in mib_dirs"
            )
        try:
            return symbol.oid + (tuple(int(arc) for arc in index.split(".")) if index else ())
        except ValueError:
            raise UnknownName(f"{text!r}: the index {index!r} is not numbers") from None

    def value_text(self, oid: Oid, value: object) -> str:
        """A varbind's value as an admin reads it: enumerations by name, OIDs by name,
        octet strings as text when they are text."""
        if isinstance(value, tuple):
            return self.text_of(value)
        if isinstance(value, bool):
            return str(int(value))
        if isinstance(value, int):
            found = self.symbol_of(oid)
            label = found[0].enums.get(value) if found is not None else None
            return f"{label}({value})" if label else str(value)
        if isinstance(value, bytes):
            try:
                text = value.decode("utf-8")
            except UnicodeDecodeError:
                return "0x" + value.hex()
            return text if text.isprintable() else "0x" + value.hex()
        return str(value)


def _enums(entry: Mapping[str, object]) -> dict[int, str]:
    syntax = entry.get("syntax")
    if not isinstance(syntax, Mapping):
        return {}
    constraints = syntax.get("constraints")
    if not isinstance(constraints, Mapping):
        return {}
    enumeration = constraints.get("enumeration")
    if not isinstance(enumeration, Mapping):
        return {}
    return {int(number): str(label) for label, number in enumeration.items()}
