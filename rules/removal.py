"""Whether a change of the rule set removes so much that it must be confirmed.

The file watcher reloads two seconds after a save. A save that lost rules by accident (a file
deleted or moved away, most rules cut) would resolve every open incident of those rules and
send recovery notices while the faults are still there. Such a change is held until someone
confirms it with an explicit reload (SIGHUP, `systemctl reload roomwatch`); an explicit reload,
and a file that says `groups: []`, are the admin saying "yes, on purpose"."""

from __future__ import annotations

from collections import Counter

from rules.model import RuleSet

# Below this many rules a set is small enough that any edit is plainly deliberate.
SMALL_SET = 4


def removal_to_confirm(old: RuleSet, new: RuleSet) -> str | None:
    """Why applying `new` over `old` needs an explicit confirmation, or None when it does not:
    every rule of a file that is no longer read is gone, or more than half the rules are."""
    new_names = {r.name for r in new}
    removed = [r for r in old if r.name not in new_names]
    if not removed:
        return None
    by_file = Counter(r.file for r in old)
    lost_by_file = Counter(r.file for r in removed)
    vanished = sorted(f for f, n in lost_by_file.items() if n == by_file[f] and f not in new.files)
    if vanished:
        return (
            f"it would remove all {sum(lost_by_file[f] for f in vanished)} rules of "
            f"{', '.join(vanished)} (the file is gone from the rule paths)"
        )
    if len(old) >= SMALL_SET and len(removed) * 2 > len(old):
        return f"it would remove {len(removed)} of the {len(old)} rules"
    return None
