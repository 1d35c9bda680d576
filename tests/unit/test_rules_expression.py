"""Rules over an expression of a device's metrics: the grammar, the join by device and labels,
and missing operands treated as missing data."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.expression import ExpressionError, is_expression, parse_expression
from rules.fault import Fault, FaultState
from tests.unit.rules_cases.helpers import engine_for, feed, s


@pytest.mark.parametrize(
    ("text", "env", "result"),
    [
        (
            "input.voltage - output.voltage",
            {("input.voltage", False): 230, ("output.voltage", False): 218},
            12,
        ),
        ("disk.free_bytes / 1e9", {("disk.free_bytes", False): 5e9}, 5),
        ("rate(ifHCInOctets) * 8 / 1e6", {("ifHCInOctets", True): 125000}, 1),
        ("-(a - b) * 2 + 1", {("a", False): 1, ("b", False): 3}, 5),
        ("a - b - c", {("a", False): 10, ("b", False): 3, ("c", False): 2}, 5),
        ("a / b * c", {("a", False): 8, ("b", False): 4, ("c", False): 3}, 6),
    ],
)
def test_expression_grammar(text: str, env: dict[tuple[str, bool], float], result: float) -> None:
    assert parse_expression(text).evaluate(env) == pytest.approx(result)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a +", "unexpected end"),
        ("a b", "unexpected 'b' at column 3"),
        ("(a - b", "unexpected end"),
        ("a ** 2", "unexpected '\\*'"),
        ("__import__('os')", "unexpected"),
        ("1 + 2", "needs at least one metric"),
        ("rate(1)", "rate\\(\\) needs a metric name"),
    ],
)
def test_bad_expression_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        parse_expression(text)


def test_plain_metric_names_are_not_expressions() -> None:
    assert not is_expression("ups.load")
    assert not is_expression("rate(ifInErrors)")
    assert is_expression("input.voltage - output.voltage")


VOLTAGE_DROP = """
groups:
  - name: power
    rules:
      - name: ups-voltage-drop
        select: {kind: ups}
        metric: "input.voltage - output.voltage"
        levels: {2: "> 20"}
        stale: 2m
        summary: {en: "{device.name} drops {value:.0f} V ({metric})"}
"""


def test_expression_joins_the_latest_readings_of_one_device(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, VOLTAGE_DROP)
    assert feed(engine, 0, s("ups1", "input.voltage", 240)) == []  # no output.voltage yet
    assert feed(engine, 10, s("ups1", "output.voltage", 230)) == []  # 10 V
    [fault] = feed(engine, 20, s("ups1", "output.voltage", 215))  # 25 V
    assert (fault.level, fault.metric, fault.value) == (2, "input.voltage - output.voltage", 25)
    assert fault.summary["en"] == "UPS 1 drops 25 V (input.voltage - output.voltage)"
    [resolved] = feed(engine, 30, s("ups1", "input.voltage", 225))  # 10 V
    assert resolved.state is FaultState.RESOLVED


def test_a_stale_operand_gives_no_result_and_never_a_recovery(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, VOLTAGE_DROP)
    feed(engine, 0, s("ups1", "input.voltage", 240), s("ups1", "output.voltage", 200))
    # input.voltage is 3 minutes old (stale: 2m): this reading alone cannot clear the fault
    [event] = feed(engine, 180, s("ups1", "output.voltage", 239))
    assert (event.state, event.stale, event.value) == (FaultState.FIRING, True, 40)


def test_rate_inside_an_expression(tmp_path: Path) -> None:
    engine = engine_for(
        tmp_path,
        """
        groups:
          - name: network
            rules:
              - name: uplink-busy
                select: {kind: switch}
                metric: "rate(ifHCInOctets) * 8 / 1e6"
                levels: {3: "> 800"}
        """,
    )
    octets = 0

    def step(t: float, mbit: float) -> list[Fault]:
        nonlocal octets
        octets += int(mbit * 1e6 / 8 * 10)
        return feed(engine, t, s("core-sw1", "ifHCInOctets", octets, ifName="Te1/1/1"))

    feed(engine, 0, s("core-sw1", "ifHCInOctets", 0, ifName="Te1/1/1"))
    assert step(10, 500) == []
    [busy] = step(20, 900)
    assert busy.labels == {"ifName": "Te1/1/1"}
    assert busy.value == pytest.approx(900)
