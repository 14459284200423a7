"""An oracle for `sandbox pact verify`'s count, written apart from the judge
(sandbox/pact/verdict.py) and importing nothing of sandbox.pact: from the raw pact files,
the places of the interactions the sandbox refuses, and the verifier's raw results, how
many interactions end verified, refused, failed and pending, and the exit code.

The rules, as the guide states them: every interaction a file lists (`interactions` and
`messages`, objects only) is counted once. A file the verifier could not load (its
"Failed to load pact" error, or no result for any of its interactions) fails all of
them and exits 2. Otherwise the k-th interaction of a description takes the verifier's
k-th result of that description (the HTTP interactions of a V3 file that has messages too
take none: the verifier ran only the messages); it is verified when that result is "OK" and the
sandbox refused nothing of it; else pending when its result says pending (with no
result: when a V4 file marks it `"pending": true`); else refused when the sandbox
refused it; else failed (a result not "OK", or none at all)."""

from __future__ import annotations

from collections import Counter, defaultdict


def file_counts(pact: dict, refused_places: set[int], results: dict | None) -> tuple[Counter, bool]:
    """The file's outcomes counted, and whether it could not be loaded."""
    entries = []
    for key in ("interactions", "messages"):
        if isinstance(pact.get(key), list):
            entries += [e for e in pact[key] if isinstance(e, dict)]
    counts: Counter = Counter({"verified": 0, "refused": 0, "failed": 0, "pending": 0})
    ran = [] if results is None else [r for r in results.get("interactionResults") or [] if isinstance(r, dict)]
    load_error = results is None or any(
        isinstance(e, dict) and e.get("interaction") == "Failed to load pact" for e in results.get("errors") or [])
    if load_error or (entries and not ran):
        counts["failed"] = len(entries)
        return counts, True
    # A V3 file with both lists: the verifier runs only its messages, so a result is never
    # an HTTP interaction's, whatever its description.
    version = str(((pact.get("metadata") or {}).get("pactSpecification") or {}).get("version", ""))
    both = not version.startswith("4") and all(isinstance(pact.get(k), list) for k in ("interactions", "messages"))
    never_ran = sum(isinstance(e, dict) for e in pact["interactions"]) if both else 0
    by_description: dict[str, list[dict]] = defaultdict(list)
    for r in ran:
        by_description[str(r.get("description"))].append(r)
    seen: Counter = Counter()
    for place, entry in enumerate(entries):
        name = str(entry.get("description", ""))
        mine = by_description[name]
        result = None
        if place >= never_ran:
            result = mine[seen[name]] if seen[name] < len(mine) else None
            seen[name] += 1
        if result is not None:
            pending = result.get("pending") is True
        else:
            pending = version.startswith("4") and entry.get("pending") is True
        if result is not None and result.get("result") == "OK" and place not in refused_places:
            counts["verified"] += 1
        elif pending:
            counts["pending"] += 1
        elif place in refused_places:
            counts["refused"] += 1
        else:
            counts["failed"] += 1
    return counts, False


def expected(files: list[tuple[dict, set[int], dict | None]], *, fail_pending: bool) -> tuple[Counter, int]:
    """The whole run: its counts and exit code."""
    total: Counter = Counter({"verified": 0, "refused": 0, "failed": 0, "pending": 0})
    unloadable = False
    for pact, refused_places, results in files:
        counts, cannot = file_counts(pact, refused_places, results)
        total += counts
        unloadable = unloadable or cannot
    total = Counter({k: total[k] for k in ("verified", "refused", "failed", "pending")})  # keep zeros
    if unloadable:
        return total, 2
    failing = total["refused"] + total["failed"] + (total["pending"] if fail_pending else 0)
    return total, 1 if failing else 0
