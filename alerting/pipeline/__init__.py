"""The notification pipeline, one stage per module (after Alertmanager's `notify/`):

    inhibit → silence → group → route → dedup → retry → record

The first two decide whether an incident change is told at all (it is recorded either way);
route picks the channels, dedup keeps the same notification from being queued twice, group
merges notifications due together, retry decides what a failed send does next, and record
writes the notification log only after a channel accepted a message. Each stage is a pure
function except `record`, which writes to the store."""
