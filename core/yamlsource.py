"""YAML loading that remembers where every value came from, and validation errors that say so.

Admins edit these files by hand; an error must name the file, the line and the reason. The
loader keeps a (line, column) for every mapping key and list item; `validate` maps pydantic's
error locations back to them and raises one ConfigError listing every error in the file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from core.textfile import NotUtf8Error, read_text_file
from core.wording import known_keys, validation_message, yaml_message

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class ErrorItem:
    file: str
    line: int  # 1-based; 0 when unknown
    col: int  # 1-based; 0 when unknown
    message: str

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.col}: {self.message}"
        return f"{self.file}: {self.message}"


class ConfigError(Exception):
    """One or more errors in one file (or several: `errors` carry their own file names)."""

    def __init__(self, errors: Sequence[ErrorItem]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))

    @classmethod
    def single(cls, file: str | Path, message: str, line: int = 0, col: int = 0) -> ConfigError:
        return cls([ErrorItem(str(file), line, col, message)])


class LineDict(dict[str, Any]):
    """A mapping from YAML that knows the position of each key."""

    positions: dict[str, tuple[int, int]]
    start: tuple[int, int]


class LineList(list[Any]):
    """A list from YAML that knows the position of each item."""

    positions: list[tuple[int, int]]
    start: tuple[int, int]


def _pos(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.positions = {}
    out.start = _pos(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool) or key is None:
            raise yaml.constructor.ConstructorError(
                None, None, f"unsupported mapping key {key!r}", key_node.start_mark
            )
        key = str(key)
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        out[key] = loader.construct_object(value_node, deep=True)
        out.positions[key] = _pos(key_node)
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.positions = [_pos(child) for child in node.value]
    out.start = _pos(node)
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def parse_yaml(text: str, file: str | Path) -> Any:
    """Parse YAML text; a syntax error becomes a ConfigError with its position."""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        reason = yaml_message(exc.problem or str(exc), exc.context)
        raise ConfigError.single(file, f"invalid YAML: {reason}", line, col) from None
    except yaml.YAMLError as exc:
        raise ConfigError.single(file, f"invalid YAML: {exc}") from None


def yaml_files_in(directory: Path) -> list[Path]:
    """The YAML files of a directory (not recursing), sorted. Hidden files are editors' and
    tools' (an Emacs lock `.#devices.yaml`, macOS `._rules.yaml`), never the admin's."""
    return sorted(
        p
        for p in directory.iterdir()
        if p.suffix in (".yaml", ".yml") and not p.name.startswith(".")
    )


def load_yaml(path: str | Path) -> Any:
    path = Path(path)
    try:
        text = read_text_file(path)
    except OSError as exc:
        raise ConfigError.single(path, f"cannot read: {exc.strerror or exc}") from None
    except NotUtf8Error as exc:
        raise ConfigError.single(path, exc.reason, exc.line, exc.col) from None
    return parse_yaml(text, path)


def locate(data: Any, loc: Sequence[str | int]) -> tuple[int, int]:
    """The position of the deepest part of `loc` found in `data` (0, 0 when none)."""
    best = getattr(data, "start", (0, 0))
    node = data
    for part in loc:
        if isinstance(node, LineDict) and str(part) in node:
            best = node.positions[str(part)]
            node = node[str(part)]
        elif isinstance(node, LineList) and isinstance(part, int) and 0 <= part < len(node):
            best = node.positions[part]
            node = node[part]
        else:
            break
    return best


def format_loc(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _document_loc(data: Any, loc: Sequence[Any]) -> list[str | int]:
    """`loc` without the parts pydantic adds that are not in the document, so the path reads
    like the file and the line is that of the key at fault: the member of a tagged union (the
    value of the entry's tag, e.g. `email` in notifiers[0].email.port) and non-key parts."""
    out: list[str | int] = []
    node = data
    for index, part in enumerate(loc):
        if not isinstance(part, int | str):
            continue
        if (
            isinstance(node, LineDict)
            and isinstance(part, str)
            and part not in node
            and part in {v for v in node.values() if isinstance(v, str)}
            and index < len(loc) - 1  # last, it is a missing key that is also some value
        ):
            continue  # the tag's value, which pydantic names the union member by
        out.append(part)
        if isinstance(node, LineDict) and isinstance(part, str):
            node = node.get(part)
        elif isinstance(node, LineList) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    return out


def errors_from_validation(
    exc: ValidationError,
    data: Any,
    file: str | Path,
    prefix: Sequence[str | int] = (),
    model: type[BaseModel] | None = None,
) -> list[ErrorItem]:
    """One ErrorItem per pydantic error, in the admin's words (core/wording.py), with the line
    of the key at fault; sorted by position. `model` (the one validated) gives the allowed
    keys for a did-you-mean on an unknown key."""
    items = []
    for err in exc.errors(include_url=False):
        loc = _document_loc(data, err["loc"])
        full = [*prefix, *loc]
        line, col = locate(data, loc)
        where = format_loc(full)
        allowed = known_keys(model, err["loc"]) if err["type"] == "extra_forbidden" else []
        msg = validation_message(err, allowed)
        if err["type"] in ("extra_forbidden", "missing"):
            where = format_loc(full[:-1])
        items.append(ErrorItem(str(file), line, col, f"{where}: {msg}" if where else msg))
    return sorted(items, key=lambda e: (e.line, e.col))


def validate(model: type[M], data: Any, file: str | Path, prefix: Sequence[str | int] = ()) -> M:
    """Validate `data` (loaded by this module) against `model`, raising a ConfigError that
    lists every error with its line."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(errors_from_validation(exc, data, file, prefix, model)) from None
