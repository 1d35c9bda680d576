"""Alert channels: the registry. A channel is one module (its Notifier subclass carries its
settings model, its recipients rule and its sending) plus one line in NOTIFIERS.

From this list alone come the tagged union of channel settings in alerting/config.py, the
dispatcher's recipients rule per channel, building the notifiers, and the parameters of the
notifier contract suite (tests/integration/test_alerting_contract.py), which fails for a
registered channel it has no fixture for. The order is the order the config's error message
lists the known types in."""

from __future__ import annotations

import functools
import importlib
import typing
from collections.abc import Mapping
from pathlib import Path

from alerting.notifiers.base import DeliveryError, Notifier, NotifierSettings

NOTIFIERS: tuple[str, ...] = (
    "alerting.notifiers.log:LogNotifier",
    "alerting.notifiers.file:FileNotifier",
    "alerting.notifiers.email:EmailNotifier",
    "alerting.notifiers.webhook:WebhookNotifier",
    "alerting.notifiers.dingtalk:DingTalkNotifier",
    "alerting.notifiers.wecom:WeComNotifier",
    "alerting.notifiers.feishu:FeishuNotifier",
    "alerting.notifiers.sms:SmsNotifier",
    "alerting.notifiers.feishu_app:FeishuAppNotifier",
    "alerting.notifiers.dingtalk_app:DingTalkAppNotifier",
    "alerting.notifiers.wecom_app:WeComAppNotifier",
    "alerting.notifiers.voice:VoiceNotifier",
)


@functools.cache
def notifier_classes() -> dict[str, type[Notifier]]:
    """Channel type → its Notifier class, in registry order."""
    out: dict[str, type[Notifier]] = {}
    for path in NOTIFIERS:
        module_name, _, class_name = path.partition(":")
        cls = getattr(importlib.import_module(module_name), class_name)
        if not (isinstance(cls, type) and issubclass(cls, Notifier) and "settings" in vars(cls)):
            raise TypeError(f"{path}: not a Notifier subclass with its own `settings` model")
        if typing.get_type_hints(cls).get("config") is not cls.settings:
            raise TypeError(f"{path}: annotate `config: {cls.settings.__name__}`")
        if cls.type in out:
            raise TypeError(f"{path}: channel type {cls.type!r} is registered twice")
        out[cls.type] = cls
    return out


def notifier_class(kind: str) -> type[Notifier]:
    return notifier_classes()[kind]


def settings_models() -> tuple[type[NotifierSettings], ...]:
    """Each channel's settings model, in registry order (the members of the config's union)."""
    return tuple(cls.settings for cls in notifier_classes().values())


def build_notifier(
    config: NotifierSettings, secrets: Mapping[str, str], state_dir: Path
) -> Notifier:
    return notifier_class(config.type)(config, dict(secrets), state_dir)


__all__ = [
    "NOTIFIERS",
    "DeliveryError",
    "Notifier",
    "NotifierSettings",
    "build_notifier",
    "notifier_class",
    "notifier_classes",
    "settings_models",
]
