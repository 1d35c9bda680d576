"""Service reports: the monthly (or quarterly) SLA report and the daily inspection sheet.

`monthly.py` and `inspection.py` compute plain data objects from values (pure; the monthly
report's parts: `monthly_input.py` what it counts, `sla_figures.py` each level's SLA figures,
`availability.py` the availability table); `source.py` reads what they need from the ticket
store; `tables.py` lays a report out as titled tables in the reader's language, which
`render_html.py`, `render_md.py` and `render_csv.py` write out; `schedule.py` decides when a
report is due and `mailing.py` queues it in the outbox."""
