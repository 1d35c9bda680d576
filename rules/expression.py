"""Expressions over a device's metrics, for rules that watch more than one reading:

    metric: "input.voltage - output.voltage"
    metric: "disk.free_bytes / 1e9"
    metric: "rate(ifHCInOctets) * 8 / 1e6"          # Mbit/s from a byte counter

Our own small grammar, never `eval`: numbers, metric names, `rate(name)`, `+ - * /`, unary
minus and parentheses. Operands are joined by device and labels: a sample of one operand is
combined with the latest readings of the others for the same device and labels. A result needs
every operand (a missing or non-numeric one, or a division by zero, gives no result: missing
data, never a recovery).

    expr   := term (("+" | "-") term)*
    term   := unary (("*" | "/") unary)*
    unary  := "-" unary | atom
    atom   := number | name | "rate(" name ")" | "(" expr ")"

Metric names in expressions may not contain `-` (it is the minus sign)."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

Operand = tuple[str, bool]  # (metric, is a rate)
Evaluator = Callable[[Mapping[Operand, float]], float]

_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)"
    r"|(?P<op>[-+*/()]))"
)
_OPS: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}


class ExpressionError(ValueError):
    pass


@dataclass(frozen=True)
class Expression:
    text: str
    operands: tuple[Operand, ...]
    evaluate: Evaluator  # raises ZeroDivisionError; KeyError when an operand is missing

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(name for name, _ in self.operands))


def is_expression(text: str) -> bool:
    """True when `text` is more than one metric name or one rate(name)."""
    stripped = text.strip()
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", stripped):
        return False
    return not re.fullmatch(r"rate\(\s*[^()\s]+\s*\)", stripped)


def parse_expression(text: str) -> Expression:
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        if not text[pos:].strip():
            break
        m = _TOKEN.match(text, pos)
        if m is None:
            bad = text[pos:].lstrip()
            raise ExpressionError(
                f"unexpected {bad[:10]!r} at column {len(text) - len(bad) + 1}"
                " (an expression uses metric names, numbers, rate(name), + - * / and parentheses)"
            )
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()
    parser = _Parser(tokens)
    evaluate = parser.parse()
    if not parser.operands:
        raise ExpressionError("an expression needs at least one metric")
    return Expression(text.strip(), tuple(dict.fromkeys(parser.operands)), evaluate)


class _Parser:
    def __init__(self, tokens: list[tuple[str, str, int]]) -> None:
        self.tokens = tokens
        self.i = 0
        self.operands: list[Operand] = []

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            raise ExpressionError("unexpected end of expression")
        self.i += 1
        return tok

    def parse(self) -> Evaluator:
        if not self.tokens:
            raise ExpressionError("empty expression")
        ev = self.expr()
        tok = self.peek()
        if tok is not None:
            raise ExpressionError(f"unexpected {tok[1]!r} at column {tok[2] + 1}")
        return ev

    def binary(self, ops: str, lower: Callable[[], Evaluator]) -> Evaluator:
        left = lower()
        while (tok := self.peek()) is not None and tok[0] == "op" and tok[1] in ops:
            self.take()
            right = lower()
            left = _apply(_OPS[tok[1]], left, right)
        return left

    def expr(self) -> Evaluator:
        return self.binary("+-", self.term)

    def term(self) -> Evaluator:
        return self.binary("*/", self.unary)

    def unary(self) -> Evaluator:
        tok = self.peek()
        if tok is not None and tok[0] == "op" and tok[1] == "-":
            self.take()
            inner = self.unary()
            return lambda env: -inner(env)
        return self.atom()

    def atom(self) -> Evaluator:
        kind, text, pos = self.take()
        if kind == "num":
            number = float(text)
            return lambda env: number
        if kind == "name":
            nxt = self.peek()
            if text == "rate" and nxt is not None and nxt[1] == "(":
                self.take()
                name_kind, name, name_pos = self.take()
                if name_kind != "name":
                    raise ExpressionError(f"rate() needs a metric name at column {name_pos + 1}")
                close = self.take()
                if close[1] != ")":
                    raise ExpressionError(f"expected ')' at column {close[2] + 1}")
                operand: Operand = (name, True)
            else:
                operand = (text, False)
            self.operands.append(operand)
            return lambda env: env[operand]
        if text == "(":
            inner = self.expr()
            close = self.take()
            if close[1] != ")":
                raise ExpressionError(f"expected ')' at column {close[2] + 1}")
            return inner
        raise ExpressionError(f"unexpected {text!r} at column {pos + 1}")


def _apply(op: Callable[[float, float], float], left: Evaluator, right: Evaluator) -> Evaluator:
    return lambda env: op(left(env), right(env))
