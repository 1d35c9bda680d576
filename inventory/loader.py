"""Loading and validating inventory files (one file or a directory of them).

Every error in a file is reported with its line; cross-file checks (unknown site, unknown or
cyclic parent, duplicate id, unknown credentials entry) name the file and line of the device."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from core.wording import did_you_mean
from core.yamlsource import (
    ConfigError,
    ErrorItem,
    errors_from_validation,
    load_yaml,
    locate,
    validate,
    yaml_files_in,
)
from inventory.credentials import Credentials
from inventory.model import KINDS, DeviceSpec, Inventory, InventoryFile, SiteSpec
from probes.base import ProbeSettings, secret_fields
from probes.registry import UnknownProbeType, settings_model


def inventory_files(path: str | Path) -> list[Path]:
    path = Path(path)
    if path.is_dir():
        return yaml_files_in(path)
    return [path]


def load_inventory(path: str | Path, credentials: Credentials | None = None) -> Inventory:
    """Load an inventory file or directory. Raises ConfigError listing every error of the
    first bad file (or every cross-reference error)."""
    inventory = Inventory()
    where: dict[str, tuple[Path, Any, int]] = {}  # device id → (file, its data, its index)
    written: set[str] = set()  # every device id written, also of a device with errors
    errors: list[ErrorItem] = []
    for file in inventory_files(path):
        if not file.exists():
            raise ConfigError.single(file, "inventory file not found")
        data = load_yaml(file)
        if data is None:
            continue
        if isinstance(data, dict) and isinstance(data.get("devices"), list):
            written.update(
                d["id"]
                for d in data["devices"]
                if isinstance(d, dict) and isinstance(d.get("id"), str)
            )
        sites, devices = _validate_entries(data, file, errors)
        valid = {i for i, _ in devices}
        for i, raw_device in enumerate(data.get("devices") or []):
            # A device whose own keys are wrong still has its probe entries checked, so one
            # `roomwatch check` lists every error of the file.
            raw_probes = raw_device.get("probes") if i not in valid else None
            if isinstance(raw_probes, list):
                for j, raw in enumerate(raw_probes):
                    if isinstance(raw, dict):
                        errors.extend(_validate_probe(raw, data, file, i, j, credentials)[1])
        for i, site in sites:
            if site.id in inventory.sites:
                line, col = locate(data, ["sites", i, "id"])
                errors.append(ErrorItem(str(file), line, col, f"duplicate site id {site.id!r}"))
            inventory.sites[site.id] = site.to_site()
        for i, dev in devices:
            line, col = locate(data, ["devices", i])
            if dev.id in inventory.devices:
                other = where[dev.id][0]
                errors.append(
                    ErrorItem(
                        str(file), line, col, f"duplicate device id {dev.id!r} (also in {other})"
                    )
                )
                continue
            if dev.kind not in KINDS:
                kline, kcol = locate(data, ["devices", i, "kind"])
                errors.append(
                    ErrorItem(
                        str(file),
                        kline,
                        kcol,
                        f"devices[{i}].kind: unknown kind {dev.kind!r}"
                        f"{did_you_mean(dev.kind, KINDS)} (known: {', '.join(KINDS)})",
                    )
                )
            probes = []
            for j, raw in enumerate(dev.probes):
                settings, probe_errors = _validate_probe(raw, data, file, i, j, credentials)
                errors.extend(probe_errors)
                if settings is not None:
                    probes.append(settings)
            inventory.devices[dev.id] = dev.to_device(tuple(probes))
            where[dev.id] = (file, data, i)
    # Wrong references are listed with every other error, not only once those are fixed.
    errors.extend(_check_references(inventory, where, written))
    if errors:
        raise ConfigError(errors)
    return inventory


def _validate_entries(
    data: Any, file: Path, errors: list[ErrorItem]
) -> tuple[list[tuple[int, SiteSpec]], list[tuple[int, DeviceSpec]]]:
    """Validate each site and device on its own, so one bad device does not hide the errors
    of the others."""
    shape = validate(InventoryFile, data, file)
    sites = []
    devices = []
    for i in range(len(shape.sites)):
        try:
            sites.append((i, validate(SiteSpec, data["sites"][i], file, ["sites", i])))
        except ConfigError as exc:
            errors.extend(exc.errors)
    for i in range(len(shape.devices)):
        try:
            devices.append((i, validate(DeviceSpec, data["devices"][i], file, ["devices", i])))
        except ConfigError as exc:
            errors.extend(exc.errors)
    return sites, devices


def _validate_probe(
    raw: dict[str, Any],
    data: Any,
    file: Path,
    i: int,
    j: int,
    credentials: Credentials | None,
) -> tuple[ProbeSettings | None, list[ErrorItem]]:
    loc: list[str | int] = ["devices", i, "probes", j]
    line, col = locate(data, loc)
    type_name = raw.get("type")
    if not isinstance(type_name, str):
        return None, [ErrorItem(str(file), line, col, f"devices[{i}].probes[{j}]: missing 'type'")]
    try:
        model = settings_model(type_name)
    except UnknownProbeType as exc:
        tline, tcol = locate(data, [*loc, "type"])
        return None, [ErrorItem(str(file), tline, tcol, f"devices[{i}].probes[{j}].type: {exc}")]
    errors = []
    for key in sorted(secret_fields(model) & set(raw)):
        kline, kcol = locate(data, [*loc, key])
        errors.append(
            ErrorItem(
                str(file),
                kline,
                kcol,
                f"devices[{i}].probes[{j}].{key}: secrets do not belong in the inventory; put it"
                " in the credentials file and name the entry with `credentials: NAME`",
            )
        )
    for key, value in raw.items():
        if _url_with_password(value):
            # an inventory lives in git; the URL would also show in every log line about it
            kline, kcol = locate(data, [*loc, key])
            errors.append(
                ErrorItem(
                    str(file),
                    kline,
                    kcol,
                    f"devices[{i}].probes[{j}].{key}: the URL carries a password; remove"
                    " 'user:password@' and put username and password in the credentials file,"
                    " named with `credentials: NAME`",
                )
            )
    merged = dict(raw)
    cred_name = raw.get("credentials")
    if isinstance(cred_name, str) and credentials is not None:
        try:
            merged.update(credentials.entry(cred_name))
        except KeyError as exc:
            cline, ccol = locate(data, [*loc, "credentials"])
            errors.append(
                ErrorItem(str(file), cline, ccol, f"devices[{i}].probes[{j}]: {exc.args[0]}")
            )
    node = _node(data, loc)
    try:
        settings = model.model_validate(merged, context={"base_dir": file.resolve().parent})
    except ValidationError as exc:
        errors.extend(errors_from_validation(exc, node, file, ["devices", i, "probes", j], model))
        return None, errors
    return settings, errors


def _url_with_password(value: Any) -> bool:
    if not isinstance(value, str) or "://" not in value:
        return False
    try:
        return urlsplit(value.strip()).password is not None
    except ValueError:
        return False  # not a URL the probe can use either: its own validation says so


def _node(data: Any, loc: list[str | int]) -> Any:
    node = data
    for part in loc:
        node = node[part]
    return node


def _check_references(
    inventory: Inventory, where: dict[str, tuple[Path, Any, int]], written: set[str]
) -> list[ErrorItem]:
    """Unknown sites and parents, and parent cycles, each at the line of the key at fault.
    A parent that is written but has errors of its own is not reported again here."""
    errors = []
    for dev in inventory.devices.values():
        file, data, i = where[dev.id]

        def at(key: str, message: str, file: Path = file, data: Any = data, i: int = i) -> None:
            line, col = locate(data, ["devices", i, key])
            errors.append(ErrorItem(str(file), line, col, f"devices[{i}].{key}: {message}"))

        if dev.site is not None and inventory.sites and dev.site not in inventory.sites:
            at("site", f"unknown site {dev.site!r}{did_you_mean(dev.site, inventory.sites)}")
        if dev.parent is not None:
            if dev.parent not in written:
                at(
                    "parent",
                    f"unknown parent {dev.parent!r}{did_you_mean(dev.parent, written)}"
                    " (the id of the device this one sits behind)",
                )
            elif dev.parent in inventory.devices and dev.id in inventory.ancestors(dev.id):
                at("parent", f"device {dev.id!r}: parent links form a cycle")
    return errors
