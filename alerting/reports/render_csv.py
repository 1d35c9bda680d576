"""CSV output for spreadsheets: every line starts with the key of the table it belongs to
(`report` for the heading's facts), and the first line of each table is its header row. One
file holds the whole report; filter the first column to get one table. Written with a BOM by
the CLI so that spreadsheet programs read the Chinese text as UTF-8."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from alerting.reports.tables import Heading, Table


def render(heading: Heading, tables: Sequence[Table], signatures: Sequence[str] = ()) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["report", heading.title])
    for label, value in heading.facts:
        writer.writerow(["report", label, value])
    for table in tables:
        writer.writerow([table.key, *table.headers])
        for row in table.rows:
            writer.writerow([table.key, *row])
    for label in signatures:
        writer.writerow(["signature", label, ""])
    return out.getvalue()


def parse(data: str) -> dict[str, list[list[str]]]:
    """Rows of each table (header first) by key: how a script reads the file back."""
    tables: dict[str, list[list[str]]] = {}
    for row in csv.reader(io.StringIO(data.lstrip("\ufeff"))):
        if row:
            tables.setdefault(row[0], []).append(row[1:])
    return tables
