"""Counter rates: wraps, resets and restarts never give a negative or absurd rate."""

from __future__ import annotations

from probes.snmp.rates import CounterRates

KEY = ("ifHCInOctets", (("ifIndex", "1"),))


def test_first_reading_has_no_rate_and_the_second_has_the_slope() -> None:
    rates = CounterRates()
    assert rates.rate(KEY, 1000, 64, ts=100.0, uptime=50.0) is None
    assert rates.rate(KEY, 7000, 64, ts=160.0, uptime=110.0) == 100.0


def test_counter32_wrap_is_counted_across_the_wrap() -> None:
    rates = CounterRates()
    rates.rate(KEY, 2**32 - 1000, 32, ts=0.0, uptime=10.0)
    assert rates.rate(KEY, 1000, 32, ts=10.0, uptime=20.0) == 200.0


def test_counter64_going_backwards_is_a_reset_not_a_rate() -> None:
    rates = CounterRates()
    rates.rate(KEY, 10**12, 64, ts=0.0, uptime=None)
    assert rates.rate(KEY, 5, 64, ts=10.0, uptime=None) is None
    assert rates.rate(KEY, 105, 64, ts=20.0, uptime=None) == 10.0


def test_agent_restart_gives_no_rate_even_when_the_counter_looks_higher() -> None:
    rates = CounterRates()
    rates.rate(KEY, 100, 32, ts=0.0, uptime=1000.0)
    assert rates.rate(KEY, 5000, 32, ts=60.0, uptime=30.0) is None


def test_a_counter32_drop_too_big_for_one_wrap_is_a_reset() -> None:
    rates = CounterRates()
    rates.rate(KEY, 1_000_000_000, 32, ts=0.0, uptime=None)
    # "Wrapping" to 10 would mean 3.3 G units in one interval: more than half the range.
    assert rates.rate(KEY, 10, 32, ts=60.0, uptime=None) is None


def test_time_not_advancing_gives_no_rate() -> None:
    rates = CounterRates()
    rates.rate(KEY, 100, 64, ts=50.0, uptime=None)
    assert rates.rate(KEY, 200, 64, ts=50.0, uptime=None) is None
    assert rates.rate(KEY, 300, 64, ts=40.0, uptime=None) is None


def test_series_not_seen_in_a_poll_are_forgotten() -> None:
    rates = CounterRates()
    rates.begin_poll()
    rates.rate(KEY, 1, 64, ts=0.0, uptime=None)
    rates.rate(("other", ()), 1, 64, ts=0.0, uptime=None)
    rates.forget_unseen()
    assert len(rates) == 2
    rates.begin_poll()
    rates.rate(KEY, 2, 64, ts=10.0, uptime=None)
    rates.forget_unseen()
    assert len(rates) == 1


def test_sysuptime_wrapping_after_497_days_is_not_a_restart() -> None:
    rates = CounterRates()
    wrap_s = 2**32 / 100
    rates.rate(KEY, 1000, 64, ts=0.0, uptime=wrap_s - 20.0)
    # 60 s later the TimeTicks wrapped (uptime 40 s) but the counters carried on.
    assert rates.rate(KEY, 7000, 64, ts=60.0, uptime=40.0) == 100.0
    # A real restart near the wrap still gives no rate.
    assert rates.rate(KEY, 9000, 64, ts=120.0, uptime=5.0) is None


def test_a_counter_jumping_by_half_its_range_is_not_a_rate() -> None:
    # An agent that answers garbage, or reset its counter to a huge value: no 10^17 B/s.
    rates = CounterRates()
    rates.rate(KEY, 1000, 64, ts=0.0, uptime=10.0)
    assert rates.rate(KEY, 2**63 + 1000, 64, ts=60.0, uptime=70.0) is None
    assert rates.rate(KEY, 2**63 + 7000, 64, ts=120.0, uptime=130.0) == 100.0
    # A Counter32 rising by more than half its range is a busy gigabit port, not garbage.
    rates.rate(("c32",), 10, 32, ts=0.0, uptime=10.0)
    assert rates.rate(("c32",), 2**31 + 10, 32, ts=60.0, uptime=70.0) == 2**31 / 60
