"""The ticket store's knowledge base (知识库): known errors and their workarounds, each about
a rule and/or a kind of device (or neither), written by hand or taken from a resolution note
or a problem's workaround. A mixin of `SqlStore`, in the common SQL dialect."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from alerting.store.model import NotFound, Row

KB_FIELDS = ("title", "symptom", "workaround", "rule", "device_kind")


@dataclass(frozen=True)
class KbEntry:
    id: int
    title: str
    symptom: str
    workaround: str
    rule: str | None  # None: any rule
    device_kind: str | None  # None: any kind of device
    source: str  # manual | resolution | problem
    source_id: int | None  # the incident or problem it came from
    created_at: float
    updated_at: float
    author: str

    @property
    def number(self) -> str:
        return f"KB-{self.id}"


def _entry(row: Row) -> KbEntry:
    return KbEntry(**{f.name: row[f.name] for f in fields(KbEntry)})


class KbQueries:
    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        raise NotImplementedError

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        raise NotImplementedError

    async def _exec(self, sql: str, params: Sequence[Any] = ()) -> int:
        raise NotImplementedError

    async def _insert(self, sql: str, params: Sequence[Any]) -> int:
        raise NotImplementedError

    async def add_kb(
        self, values: Mapping[str, Any], source: str, source_id: int | None, author: str, now: float
    ) -> int:
        names = [n for n in KB_FIELDS if n in values]
        cols = [*names, "source", "source_id", "created_at", "updated_at", "author"]
        params = [*(values[n] for n in names), source, source_id, now, now, author]
        return await self._insert(
            f"INSERT INTO kb_entries ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})",
            params,
        )

    async def update_kb(self, entry_id: int, changes: Mapping[str, Any], now: float) -> None:
        unknown = set(changes) - set(KB_FIELDS)
        if unknown:
            raise ValueError(f"not knowledge-base fields: {sorted(unknown)}")
        await self.kb_entry(entry_id)  # NotFound
        if changes:
            assignments = ", ".join(f"{n} = ?" for n in changes)
            await self._exec(
                f"UPDATE kb_entries SET {assignments}, updated_at = ? WHERE id = ?",
                [*changes.values(), now, entry_id],
            )

    async def kb_entry(self, entry_id: int) -> KbEntry:
        row = await self._one("SELECT * FROM kb_entries WHERE id = ?", (entry_id,))
        if row is None:
            raise NotFound(f"no knowledge-base entry KB-{entry_id}")
        return _entry(row)

    async def kb_from(self, source: str, source_id: int) -> KbEntry | None:
        row = await self._one(
            "SELECT * FROM kb_entries WHERE source = ? AND source_id = ? ORDER BY id LIMIT 1",
            (source, source_id),
        )
        return _entry(row) if row else None

    async def kb_entries(self) -> list[KbEntry]:
        return [_entry(r) for r in await self._all("SELECT * FROM kb_entries ORDER BY id")]

    async def kb_search(self, words: Sequence[str]) -> list[KbEntry]:
        """Entries holding every word (case-insensitive) in their title, symptom, workaround
        or rule."""
        sql = "SELECT * FROM kb_entries"
        where, params = [], []
        for word in words:
            where.append(
                "(LOWER(title) LIKE ? OR LOWER(symptom) LIKE ? OR LOWER(workaround) LIKE ?"
                " OR LOWER(COALESCE(rule, '')) LIKE ?)"
            )
            pattern = "%" + word.lower().replace("%", "").replace("_", "") + "%"
            params += [pattern] * 4
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [_entry(r) for r in await self._all(sql + " ORDER BY updated_at DESC, id", params)]

    async def kb_candidates(self, rule: str, device_kind: str | None) -> list[KbEntry]:
        """Entries about this rule or this kind of device (or about both)."""
        rows = await self._all(
            "SELECT * FROM kb_entries WHERE (rule = ? OR rule IS NULL)"
            " AND (device_kind = ? OR device_kind IS NULL)"
            " AND NOT (rule IS NULL AND device_kind IS NULL)",
            (rule, device_kind or ""),
        )
        return [_entry(r) for r in rows]
