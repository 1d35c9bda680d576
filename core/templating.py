"""HTML and SVG through Jinja2 with autoescaping: every `{{ value }}` is escaped unless it is
already markup (`Markup`, such as a chart drawn by another template), so a device called
`<script>` in the inventory shows as text, whatever the template forgets.

`environment("alerting.reports")` reads the templates of a package's `templates/` directory
(package data, installed with the wheel). Two choices keep the pages what they were when they
were written with f-strings, byte for byte:

- Templates are written one element a line, indented, for people to read; at load every
  newline and the indentation after it are dropped, so the page is written compactly, as
  before. Hence: keep on one line what needs a space between its parts (an element's
  attributes), and write a newline that must reach the page as `{{ "\\n" }}`.
- Values are escaped the way the standard library's `html.escape` does (`&#x27;`, `&quot;`),
  which the committed samples and every report already sent use; markupsafe would write
  `&#39;` and `&#34;`, the same to a browser but different bytes.

The lookup `t` of core/i18n.py is a global of every template."""

from __future__ import annotations

import html
import re
from typing import Any

import jinja2
from jinja2.ext import Extension
from markupsafe import Markup

from core.i18n import language_tag, t

_NEWLINE_AND_INDENT = re.compile(r"\n[ \t]*")


class _JoinLines(Extension):
    """Drops each newline of a template's source with the indentation that follows it."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return _NEWLINE_AND_INDENT.sub("", source)


def _escape_as_stdlib(value: Any) -> Any:
    # Jinja2 passes every {{ value }} through here, then escapes what is not markup yet
    if hasattr(value, "__html__"):
        return value
    return Markup(html.escape(str(value)))


def environment(package: str, **helpers: Any) -> jinja2.Environment:
    """The template environment of `package` (its `templates/` directory), with `helpers` as
    extra template globals. Build it once per module: it caches compiled templates."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a misspelt variable fails the render, loudly
        finalize=_escape_as_stdlib,
        extensions=[_JoinLines],
    )
    env.globals.update(t=t, language_tag=language_tag, **helpers)
    return env
