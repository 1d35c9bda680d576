"""The translation catalogues (data): one YAML file per language, read by core/i18n.py."""
