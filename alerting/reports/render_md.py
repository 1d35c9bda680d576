"""Markdown output: a heading with the report's facts, then one pipe table per table (what a
mail body or a wiki page shows)."""

from __future__ import annotations

from collections.abc import Sequence

from alerting.reports.tables import Heading, Table
from core.i18n import t


def cell(value: str) -> str:
    # a pipe would end the cell, a newline the row
    return value.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def table_md(table: Table, lang: str) -> list[str]:
    lines = [f"## {table.title}", ""]
    lines.append("| " + " | ".join(cell(h) for h in table.headers) + " |")
    lines.append("|" + "|".join("---" for _ in table.headers) + "|")
    for row in table.rows:
        lines.append("| " + " | ".join(cell(c) for c in row) + " |")
    if not table.rows:
        lines.extend(["", f"_{t('report.none', lang)}_"])
    if table.note:
        lines.extend(["", f"> {table.note}"])
    lines.append("")
    return lines


def render(heading: Heading, tables: Sequence[Table], lang: str, footer: Sequence[str] = ()) -> str:
    lines = [f"# {heading.title}", ""]
    lines.extend(f"- **{label}**: {cell(value)}" for label, value in heading.facts)
    lines.append("")
    for table in tables:
        lines.extend(table_md(table, lang))
    lines.extend(footer)
    return "\n".join(lines).rstrip() + "\n"


def signature_block(labels: Sequence[str]) -> list[str]:
    return ["---", "", *(f"{label}: ____________________  " for label in labels), ""]
