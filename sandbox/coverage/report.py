"""`sandbox coverage`: the coverage endpoint's answer as tables a person reads."""

from __future__ import annotations

from sandbox.coverage import words


def table(title: str, header: tuple[str, ...], rows: list[tuple]) -> list[str]:
    """Lines of a plain-text table under a title, columns padded to their widest cell."""
    cells = [tuple(str(c) for c in header), *[tuple(str(c) for c in row) for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["", title]
    for row in cells:
        lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    if not rows:
        lines.append("  (none)")
    return lines


def render(coverage: dict) -> str:
    """Tick what was exercised; a scenario counts once a payout reached its end, and one
    that did not says so as the gate does: never started, or where its payouts stopped."""
    def reached(s: dict) -> str:
        return "yes" if s["reached_end"] else words.of_scenario([s])

    lines = [f"Coverage of merchant {coverage['merchant_id']}"]
    lines += table("Scenarios", ("scenario", "reached end", "payouts", "ended"),
                    [(s["name"], reached(s), s["payouts"], s["reached_end"]) for s in coverage["scenarios"]])
    lines += table("Webhook event types", ("type", "acknowledged (2xx)", "failed attempts"),
                    [(e["type"], e["acknowledged"], e["failed"]) for e in coverage["event_types"]])
    lines += table("Operator paths", ("path", "taken", "times"),
                    [(p["name"], "yes" if p["count"] else words.NEVER_TAKEN, p["count"])
                     for p in coverage["operator_paths"]])
    lines += table("Error codes received", ("code", "times"),
                    [(e["code"], e["count"]) for e in coverage["error_codes"]])
    lines += table("Faults after commit on writes: what the client did next",
                   ("fault", "writes", "recovered", "duplicated", "open", "not writes (not judged)"),
                   [(f["kind"], f["injected"], f["recovered"], f["duplicated"], f["open"], f["not_writes"])
                    for f in coverage.get("faults", [])])
    for f in coverage.get("faults", []):
        for case in f["cases"]:
            if case["verdict"] == "duplicated":
                lines.append(f"  DUPLICATED: payout {case['payout_id']} ({f['kind']} on request {case['request_id']})"
                             f" was paid again as {case['duplicate_payout_id']}")
    return "\n".join(lines) + "\n"
