"""Reading a device profile file (SNMP, Modbus, serial) into its model, with errors an admin can
act on: one line naming the file and, for each problem, the key path and its line."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from core.textfile import NotUtf8Error, read_text_file
from core.wording import known_keys, validation_message

M = TypeVar("M", bound=BaseModel)


class ProfileFileError(ValueError):
    """The message is `FILE[:LINE:COL]: reason` on one line."""


def read_profile(path: Path, model: type[M]) -> M:
    """The profile in `path`, validated by `model`. Raises ProfileFileError."""
    try:
        text = read_text_file(path)
    except OSError as exc:
        raise ProfileFileError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    except NotUtf8Error as exc:
        raise ProfileFileError(f"{path}:{exc.line}:{exc.col}: {exc.reason}") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # one line, not PyYAML's multi-line report
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ProfileFileError(f"{path}{where}: invalid YAML: {reason}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}"
            f" (line {line_of(root, err['loc'])}):"
            f" {validation_message(err, known_keys(model, err['loc']))}"
            for err in exc.errors()
        )
        raise ProfileFileError(f"{path}: {problems}") from None


def line_of(root: yaml.Node | None, loc: tuple[int | str, ...]) -> int:
    """The 1-based line of the YAML node at `loc`, or of its nearest parent that exists."""
    if root is None:
        return 1
    node: yaml.Node = root
    line = node.start_mark.line
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part):
                    line, child = key.start_mark.line, value
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            child = node.value[part]
            line = child.start_mark.line
        if child is None:
            break
        node = child
    return line + 1
