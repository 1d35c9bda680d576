"""Inventory: sites, rooms and devices, their dependencies, and the credentials they use."""

from core.yamlsource import ConfigError, ErrorItem
from inventory.credentials import Credentials, load_credentials
from inventory.loader import load_inventory
from inventory.model import Device, Inventory, Selector, Site

__all__ = [
    "ConfigError",
    "Credentials",
    "Device",
    "ErrorItem",
    "Inventory",
    "Selector",
    "Site",
    "load_credentials",
    "load_inventory",
]
