"""The contract every alert channel keeps, checked for each channel of the registry against a
real peer (tests/fixtures/notifier_peers.py): a message the channel takes reaches the peer
readable; each way the peer can fail is retryable or not as it should be (5xx, 429, SMTP 4xx,
a dead port, a full disk: retry; other 4xx, SMTP 5xx, a refused login: give up); no secret
appears in an error or a repr; the recipients rule's addresses are the ones the message goes
to. The cases come from the registry, so a registered channel without a peer fails here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from alerting.config import AlertingConfig, Person
from alerting.messages import Message, render
from alerting.notifiers import DeliveryError, Notifier, build_notifier, notifier_classes
from tests.fixtures.notifier_peers import PEERS, SECRETS, ChannelPeer

pytestmark = pytest.mark.integration

REGISTERED = list(notifier_classes())
# Zhang can be reached on every channel: mail, phone, and an id on each chat platform
ZHANG = Person(
    name="Zhang",
    email="zhang@example.org",
    phone="13800000001",
    ids={"wecom": "ZhangSan", "feishu": "ou_zhang", "dingtalk": "0123456789"},
)


def failure_cases() -> list[Any]:
    cases = []
    for kind in REGISTERED:
        if kind not in PEERS:
            cases.append(pytest.param(kind, "", id=f"{kind}-without-a-peer"))
            continue
        cases += [pytest.param(kind, f, id=f"{kind}-{f}") for f in PEERS[kind].failures]
    return cases


def peer_class(kind: str) -> type[ChannelPeer]:
    if kind not in PEERS:
        pytest.fail(
            f"channel {kind!r} is registered but has no contract peer: add one to PEERS in"
            " tests/fixtures/notifier_peers.py"
        )
    return PEERS[kind]


@pytest.fixture
async def peer(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ChannelPeer]:
    the_peer = peer_class(request.param)(tmp_path)
    await the_peer.start()
    yield the_peer
    await the_peer.stop()


def build(kind: str, entry: dict[str, Any], tmp_path: Path) -> Notifier:
    # through the config, as the daemon builds it: the union of the registry's models
    data = {"notifiers": [{"type": kind, "credentials": "c", **entry}]}
    config = AlertingConfig.model_validate(data).notifiers[0]
    return build_notifier(config, SECRETS, tmp_path)


def message(recipients: dict[str, Any] | None = None) -> Message:
    item = {
        "kind": "opened",
        "incident": 7,
        "device": "ups1",
        "device_name": "UPS A",
        "level": 1,
        "summary": {"en": "UPS on battery"},
        "since": 1_763_870_400.0,
        "ts": 1_763_870_460.0,
    }
    return render([item], "en", now=1_763_870_460.0, recipients=recipients or {})


def assert_no_secret(text: str) -> None:
    leaked = [key for key, value in SECRETS.items() if value in text]
    assert not leaked, f"secrets {leaked} in {text!r}"


async def sent(notifier: Notifier, msg: Message) -> None:
    try:
        await notifier.send(msg)
    finally:
        await notifier.close()


def test_every_registered_channel_has_a_peer_and_every_peer_a_channel() -> None:
    assert sorted(PEERS) == sorted(REGISTERED)


@pytest.mark.parametrize("kind", REGISTERED)
def test_each_peer_fails_both_ways_or_says_why_it_cannot(kind: str) -> None:
    peer = peer_class(kind)
    for retryable in (True, False):
        assert retryable in peer.failures.values() or peer.no_failure_because.get(retryable), (
            f"{kind}: no {'retryable' if retryable else 'permanent'} failure, and no reason why"
        )


@pytest.mark.parametrize("peer", REGISTERED, indirect=True)
async def test_a_message_the_channel_takes_reaches_the_peer_readable(
    peer: ChannelPeer, tmp_path: Path
) -> None:
    notifier = build(peer.kind, peer.entry(), tmp_path)
    assert_no_secret(repr(notifier))
    await sent(notifier, message())
    [text] = peer.delivered()
    assert "ups1" in text and "UPS on battery" in text


@pytest.mark.parametrize(("peer", "failure"), failure_cases(), indirect=["peer"])
async def test_a_failure_is_retried_or_given_up_as_the_peer_means_it(
    peer: ChannelPeer, failure: str, tmp_path: Path
) -> None:
    notifier = build(peer.kind, peer.entry(failure), tmp_path)
    with pytest.raises(DeliveryError) as caught:
        await sent(notifier, message())
    assert caught.value.retryable is peer.failures[failure]
    assert_no_secret(str(caught.value))
    assert_no_secret(repr(notifier))
    assert peer.delivered() == []


@pytest.mark.parametrize("peer", REGISTERED, indirect=True)
async def test_the_recipients_rule_gives_the_addresses_the_message_goes_to(
    peer: ChannelPeer, tmp_path: Path
) -> None:
    cls = notifier_classes()[peer.kind]
    entry = peer.entry()
    notifier = build(peer.kind, entry, tmp_path)
    addresses = cls.addresses(notifier.config, [ZHANG])
    assert addresses is not None
    await sent(notifier, message({"people": ["zhang"], "names": ["Zhang"], **addresses}))
    assert peer.delivered()
    if peer.addresses_people:
        # Zhang's own address, besides any the channel always sends to (its `to:`)
        given = {a for values in addresses.values() for a in values}
        assert given and given <= peer.addressed() <= given | set(entry.get("to", []))


@pytest.mark.parametrize("kind", REGISTERED)
def test_a_channel_that_needs_an_address_reaches_nobody_without_one(
    kind: str, tmp_path: Path
) -> None:
    cls = notifier_classes()[kind]
    entry = {k: v for k, v in peer_class(kind)(tmp_path).entry().items() if k != "to"}
    config = cls.settings.model_validate({"type": kind, **entry})
    nobody = cls.addresses(config, [Person(name="Wang")])
    assert (nobody is None) is peer_class(kind).needs_an_address
    assert cls.addresses(config, [ZHANG]) is not None


@pytest.mark.parametrize("kind", [k for k, c in notifier_classes().items() if c.required_secrets])
def test_missing_credentials_are_named_when_the_channel_is_built(kind: str, tmp_path: Path) -> None:
    cls = notifier_classes()[kind]
    entry = peer_class(kind)(tmp_path).entry()
    config = AlertingConfig.model_validate(
        {"notifiers": [{"type": kind, "credentials": "c", **entry}]}
    ).notifiers[0]
    with pytest.raises(ValueError, match="credentials entry 'c' lacks") as caught:
        build_notifier(config, {}, tmp_path)
    assert all(key in str(caught.value) for key in cls.required_secrets)
