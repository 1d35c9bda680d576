"""Alerting: incidents in the ticket store, SLA clocks, escalation, notifications, reports."""
