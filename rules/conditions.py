"""The condition grammar of rule files: `> 35`, `== OB`, `contains LB`, `not contains OL`,
`>= 10 and < 20`, `(contains OB or contains LB) and not contains CHRG`.

Our own small grammar, never `eval`. A condition is compiled once, at load time, into a plain
Python predicate over one sample value:

    condition := term ("or" term)*
    term      := factor ("and" factor)*
    factor    := "not" factor | "(" condition ")" | comparison | match
    comparison:= (">" | ">=" | "<" | "<=" | "==" | "!=") operand
    match     := ["not"] "contains" operand
    operand   := number | word | "quoted string"

Numbers compare numerically (booleans count as 0/1, numeric strings are read as numbers);
a word compares as text, which is how enumerations (`== OB`) are written. `contains` looks for a
whole space-separated flag, as NUT writes `ups.status` ("OL CHRG"), so `contains OB` does not
match "OBX". A value that cannot be compared (text against a number) makes the comparison false."""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from core.sample import Value

Predicate = Callable[[Value], bool]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<op>[<>=!]+)
      | (?P<paren>[()])
      | "(?P<dq>[^"]*)"
      | '(?P<sq>[^']*)'
      | (?P<word>[^\s()"'<>=!]+)
    )""",
    re.VERBOSE,
)

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


class ConditionError(ValueError):
    """A condition that does not parse; the message says where and what was expected."""


@dataclass(frozen=True)
class Condition:
    """A compiled condition: `text` as written, `test(value)` the predicate."""

    text: str
    test: Predicate
    numeric: bool = False  # only number comparisons: a text reading is no reading

    def __call__(self, value: Value) -> bool:
        return self.test(value)


def as_number(value: Value) -> float | None:
    """The numeric reading of a sample value, or None (text that is not a number, NaN)."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        number = float(value)
    else:
        try:
            number = float(value.strip())
        except ValueError:
            return None
    return None if math.isnan(number) else number


@dataclass(frozen=True)
class _Tok:
    kind: str  # "op", "paren", "word", "str"
    text: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            rest = text[pos:].lstrip()
            raise ConditionError(f"unexpected {rest[:10]!r} at column {len(text) - len(rest) + 1}")
        start = m.start(m.lastgroup or 0)
        if m.group("op"):
            if m.group("op") not in _COMPARE:
                raise ConditionError(
                    f"unknown operator {m.group('op')!r} at column {start + 1}"
                    " (use > >= < <= == !=)"
                )
            tokens.append(_Tok("op", m.group("op"), start))
        elif m.group("paren"):
            tokens.append(_Tok("paren", m.group("paren"), start))
        elif m.group("dq") is not None:
            tokens.append(_Tok("str", m.group("dq"), start))
        elif m.group("sq") is not None:
            tokens.append(_Tok("str", m.group("sq"), start))
        else:
            tokens.append(_Tok("word", m.group("word"), start))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.numeric = True  # cleared by any text comparison or `contains`

    def peek(self) -> _Tok | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise ConditionError("unexpected end of condition")
        self.i += 1
        return tok

    def is_word(self, word: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "word" and tok.text.lower() == word

    def parse(self) -> Predicate:
        if not self.tokens:
            raise ConditionError("empty condition (write it like '> 30' or 'contains OB')")
        pred = self.condition()
        tok = self.peek()
        if tok is not None:
            raise ConditionError(
                f"unexpected {tok.text!r} at column {tok.pos + 1} (join conditions with 'and'/'or')"
            )
        return pred

    def condition(self) -> Predicate:
        parts = [self.term()]
        while self.is_word("or"):
            self.take()
            parts.append(self.term())
        if len(parts) == 1:
            return parts[0]
        return lambda v: any(p(v) for p in parts)

    def term(self) -> Predicate:
        parts = [self.factor()]
        while self.is_word("and"):
            self.take()
            parts.append(self.factor())
        if len(parts) == 1:
            return parts[0]
        return lambda v: all(p(v) for p in parts)

    def factor(self) -> Predicate:
        tok = self.take()
        if tok.kind == "word" and tok.text.lower() == "not":
            inner = self.factor()
            return lambda v: not inner(v)
        if tok.kind == "paren" and tok.text == "(":
            inner = self.condition()
            close = self.take()
            if close.text != ")":
                raise ConditionError(f"expected ')' at column {close.pos + 1}")
            return inner
        if tok.kind == "op":
            operand = self.operand(tok)
            self.numeric = self.numeric and isinstance(operand, float)
            return _comparison(tok.text, operand)
        if tok.kind == "word" and tok.text.lower() == "contains":
            self.numeric = False
            flag = self.operand(tok)
            return lambda v: isinstance(v, str) and flag in v.split()
        raise ConditionError(
            f"expected a comparison (> >= < <= == !=) or 'contains' at column {tok.pos + 1},"
            f" found {tok.text!r}"
        )

    def operand(self, after: _Tok) -> str | float:
        tok = self.peek()
        if tok is None or tok.kind in ("op", "paren"):
            raise ConditionError(f"missing value after {after.text!r} at column {after.pos + 1}")
        self.i += 1
        if tok.kind == "str":
            return tok.text
        if tok.text.lower() in ("and", "or", "not", "contains"):
            raise ConditionError(f"missing value after {after.text!r} at column {after.pos + 1}")
        try:
            return float(tok.text)
        except ValueError:
            return tok.text


def _comparison(op: str, operand: str | float) -> Predicate:
    compare = _COMPARE[op]
    if isinstance(operand, float):
        limit = operand

        def numeric(v: Value) -> bool:
            # The hot path: most samples are plain numbers.
            if type(v) is float or type(v) is int:
                return compare(v, limit)
            n = as_number(v)
            return n is not None and compare(n, limit)

        return numeric
    if op not in ("==", "!="):
        raise ConditionError(f"{op} needs a number, found {operand!r}")
    text = operand
    if op == "==":
        return lambda v: isinstance(v, str) and v.strip() == text
    return lambda v: not (isinstance(v, str) and v.strip() == text)


def parse_condition(text: str | int | float) -> Condition:
    """Compile a condition. A bare number means `== number` (YAML `levels: {1: 0}`).
    Raises ConditionError with a message naming the column."""
    if isinstance(text, bool):
        raise ConditionError(f"expected a condition such as '> 30', found {text!r}")
    if isinstance(text, int | float):
        value = float(text)
        return Condition(str(text), _comparison("==", value), numeric=True)
    parser = _Parser(text)
    test = parser.parse()
    return Condition(text, test, numeric=parser.numeric)
