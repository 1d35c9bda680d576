"""A rule's `where` globs, compiled and remembered, answer exactly as fnmatchcase does."""

from __future__ import annotations

import itertools
from fnmatch import fnmatchcase

from rules.model import Rule

PATTERNS = [
    ("Te1/1/*",),
    ("Gi1/0/49", "Gi1/0/50"),
    ("xe-0/0/4[89]", "ae?"),
    ("[!G]*", "*[*]*"),
    ("Port 1*",),
    ("",),
]
VALUES = ["Te1/1/1", "te1/1/1", "Gi1/0/49", "Gi1/0/5", "xe-0/0/48", "xe-0/0/47", "ae1", "ae",
          "a*b", "Port 10", "Port\n1", "", "Gi1/0/49\n", "Te1/1/"]  # fmt: skip


def test_where_globs_match_as_fnmatchcase_does() -> None:
    for globs in PATTERNS:
        rule = Rule(name="r", group="g", metric="ifOperStatus", where=(("ifName", globs),))
        for _ in range(2):  # the answer remembered is the same answer
            for value in VALUES:
                expected = any(fnmatchcase(value, g) for g in globs)
                assert rule.wants_labels({"ifName": value}) is expected, (globs, value)
        assert not rule.wants_labels({"ifDescr": "Te1/1/1"})  # the label is missing


def test_every_where_label_must_match() -> None:
    where = (("ifName", ("Te*",)), ("ifAlias", ("uplink*",)))
    rule = Rule(name="r", group="g", metric="ifOperStatus", where=where)
    for name, alias in itertools.product(["Te1", "Gi1"], ["uplink to core", "server"]):
        expected = name.startswith("Te") and alias.startswith("uplink")
        assert rule.wants_labels({"ifName": name, "ifAlias": alias}) is expected
