"""Alert channels. One module per channel; add one by adding a module and a line in NOTIFIERS.

Channel type → "module:Class", imported when first used (so an unused channel's library is
never loaded)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path

from alerting.config import NotifierConfig
from alerting.notifiers.base import DeliveryError, Notifier

NOTIFIERS: dict[str, str] = {
    "log": "alerting.notifiers.log:LogNotifier",
    "file": "alerting.notifiers.file:FileNotifier",
    "email": "alerting.notifiers.email:EmailNotifier",
    "webhook": "alerting.notifiers.webhook:WebhookNotifier",
    "dingtalk": "alerting.notifiers.dingtalk:DingTalkNotifier",
    "wecom": "alerting.notifiers.wecom:WeComNotifier",
    "feishu": "alerting.notifiers.feishu:FeishuNotifier",
    "sms": "alerting.notifiers.sms:SmsNotifier",
}


def build_notifier(config: NotifierConfig, secrets: Mapping[str, str], state_dir: Path) -> Notifier:
    module_name, _, class_name = NOTIFIERS[config.type].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    notifier: Notifier = cls(config, dict(secrets), state_dir)
    return notifier


__all__ = ["NOTIFIERS", "DeliveryError", "Notifier", "build_notifier"]
