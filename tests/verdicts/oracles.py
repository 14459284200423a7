"""Oracles: what each verdict must say, worked out from the raw facts (the request log's
entries, the payouts' stored destinations, the payouts' events and the rail's
notifications, the scenario table's file, what a receiver answered) by rules written
here from the guides' words. Nothing here imports the judge (sandbox.verdicts,
sandbox.coverage, sandbox.requests.verdict, sandbox.webhooks.audit):
tests/verdicts/test_oracles_independent.py holds it. The property tests
(test_oracle_*.py) generate histories and hold verdict = oracle on every one.

The rules, as the guides say them:
- safe retries: a faulted write is a POST, PUT, PATCH or DELETE that ran under its key
  (outcome `first`), answered 2xx, whose answer a fault after commit took away. It is
  `duplicated` when it made a payout and a payout made later pays the same account (bank
  or wallet and account number; an IBAN's account part; the title aside) the same amount;
  else `recovered` when a later request the client got a 2xx answer to (no fault after
  commit of its own) used its key, or read its object by id (a GET naming it in its path)
  or by reference; else `open`. Held: none duplicated and one recovered.
- coverage: a scenario is covered when a payout's walk on it entered its path's statuses in
  order by the scenario's own steps (a status the rail reported in a notification that is
  not one of the payout's own steps, `{payout_id}:…`, is not one: POST
  /sandbox/payouts/{id}/simulate's `sim_…`, or any callback signed for the rail), the last with the
  scenario's failure code (its step's, or `rail_rejected` / `rail_returned` without one),
  and was submitted when the scenario submits.
- receiver audit: each case passes when the receiver answered what Standard Webhooks asks
  (2xx for a genuine delivery, a repeat, an unknown type and a rotation; 4xx for a
  tampered body, a wrong key, no signature and a timestamp 10 minutes off either way);
  the audit passes when every case does."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = json.loads((ROOT / "seeds" / "scenarios.json").read_text())["scenarios"]
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
AFTER_COMMIT = {"response_lost", "timeout", "error_after_commit"}
ID = re.compile(r"^[a-z]{2,4}_[0-9a-z_]+$")
UNPAID_DEFAULTS = {"failed": "rail_rejected", "returned": "rail_returned"}


# -- safe retries ---------------------------------------------------------------------

def account(destination: dict) -> tuple[str, str, str]:
    """The account a stored destination pays into."""
    if destination["type"] == "wallet":
        return "wallet", destination["wallet_code"], destination["account_number"]
    if destination.get("iban"):
        iban = destination["iban"].replace(" ", "").upper()
        return "bank", destination["bank_code"], iban[8:]
    return "bank", destination["bank_code"], "0" * (16 - len(destination["account_number"])) + \
        destination["account_number"]


def _ok(entry: dict) -> bool:
    return 200 <= entry["status"] < 300


def _made(entry: dict) -> str | None:
    """The payout a POST /payouts made (the id its answer named), if it made one."""
    if entry["method"] == "POST" and entry["path"].split("?")[0] == "/api/v1/payouts" and _ok(entry) \
            and entry["idempotency_outcome"] == "first":
        return entry["payout_id"]
    return None


def _named(entry: dict) -> set[str]:
    return {part for part in urlsplit(entry["path"]).path.split("/") if ID.match(part)}


@dataclass
class RetryOracle:
    cases: dict[str, tuple[str, str | None, str | None]] = field(default_factory=dict)
    """request id of each faulted write → (verdict, duplicate payout, the request that recovered it)"""
    not_writes: int = 0
    held: bool = False


def safe_retries(log: list[dict], payouts: dict[str, dict]) -> RetryOracle:
    """`log`: the merchant's entries, oldest first (id, method, path with query, status,
    idempotency_key, idempotency_outcome, fault, payout_id: the id a 2xx answer named);
    `payouts`: id → {amount, destination, reference} as stored."""
    oracle = RetryOracle()
    made_at = {p: i for i, e in enumerate(log) if (p := _made(e)) is not None}
    for i, entry in enumerate(log):
        if entry["fault"] not in AFTER_COMMIT:
            continue
        if not (entry["method"] in WRITES and entry["idempotency_outcome"] == "first" and _ok(entry)):
            oracle.not_writes += 1
            continue
        made = _made(entry)
        duplicate = None
        if made is not None:
            mine = payouts[made]
            duplicate = next((other for other, at in sorted(made_at.items(), key=lambda kv: kv[1])
                              if at > made_at[made] and payouts[other]["amount"] == mine["amount"]
                              and account(payouts[other]["destination"]) == account(mine["destination"])), None)
        if duplicate is not None:
            oracle.cases[entry["id"]] = ("duplicated", duplicate, None)
            continue
        objects = _named(entry) | ({made} if made else set())
        reference = payouts[made]["reference"] if made else None
        recovered_by = None
        for later in log[i + 1:]:
            if not _ok(later) or later["fault"] in AFTER_COMMIT:
                continue
            same_key = entry["idempotency_key"] is not None and later["idempotency_key"] == entry["idempotency_key"]
            read = later["method"] == "GET" and (
                bool(objects & _named(later))
                or (reference is not None
                    and reference in parse_qs(urlsplit(later["path"]).query).get("reference", [])))
            if same_key or read:
                recovered_by = later["id"]
                break
        oracle.cases[entry["id"]] = ("recovered", None, recovered_by) if recovered_by else ("open", None, None)
    verdicts = [v for v, _, _ in oracle.cases.values()]
    oracle.held = "duplicated" not in verdicts and "recovered" in verdicts
    return oracle


# -- coverage -------------------------------------------------------------------------

def outcome(scenario: dict) -> str | None:
    """The failure code a payout carries at the end of the scenario's path."""
    last = scenario["path"][-1]
    code = next((s.get("failure_code") for s in reversed(scenario["steps"]) if s["status"] == last), None)
    return code or UNPAID_DEFAULTS.get(last)


def _in_order(needle: list[str], haystack: list[str]) -> bool:
    rest = iter(haystack)
    return all(wanted in rest for wanted in needle)


def covers(scenario: dict, moves: list[dict], submitted: bool) -> bool:
    """`moves`: one walk's status changes in order (status, failure_code, simulated)."""
    own = [m for m in moves if not m["simulated"]]
    path, expected = scenario["path"], outcome(scenario)
    ends = [i for i, m in enumerate(own) if m["status"] == path[-1] and m["failure_code"] == expected]
    walked = any(_in_order(path[:-1], [m["status"] for m in own[:end]]) for end in ends)
    return walked and (submitted or not any(s.get("submit") for s in scenario["steps"]))


@dataclass
class CoverageOracle:
    reached: set[str] = field(default_factory=set)
    payouts: dict[str, int] = field(default_factory=dict)
    simulated_to: dict[str, set[str]] = field(default_factory=dict)


def coverage(events: list[dict], notifications: list[dict], rows: dict[str, dict]) -> CoverageOracle:
    """`events`: the merchant's payout events in order (payout_id, scenario, status,
    failure_code, psp_reference); `notifications`: the rail's (id, psp_reference, status);
    `rows`: payout id → its row now (scenario, psp_reference). Built-in scenarios only."""
    by_name = {s["name"]: s for s in SCENARIOS}
    made = {(n["psp_reference"], n["status"]): n["id"] for n in notifications}
    walks: dict[tuple[str, str], list[dict]] = {}
    for e in events:
        told = made.get((e["psp_reference"], e["status"]))  # the rail's callback that made this move, if one did
        move = {**e, "simulated": told is not None and told.split(":")[0] != e["payout_id"]}
        walks.setdefault((e["payout_id"], e["scenario"]), []).append(move)
    oracle = CoverageOracle()
    for (payout_id, name), moves in walks.items():
        oracle.payouts[name] = oracle.payouts.get(name, 0) + 1
        row = rows[payout_id]
        submitted = any(m["psp_reference"] for m in moves) or (
            row["scenario"] == name and row["psp_reference"] is not None)
        if covers(by_name[name], moves, submitted):
            oracle.reached.add(name)
        elif forced := [m for m in moves if m["simulated"]]:
            last = forced[-1]
            oracle.simulated_to.setdefault(name, set()).add(
                f"{last['status']} with {last['failure_code']}" if last["failure_code"] else last["status"])
    return oracle


# -- the receiver audit ---------------------------------------------------------------

STANDARD_WEBHOOKS = {
    "valid_event": "2xx", "duplicate_delivery": "2xx", "unseen_event_type": "2xx", "key_rotation": "2xx",
    "tampered_body": "4xx", "wrong_secret": "4xx", "unsigned": "4xx", "stale_timestamp": "4xx",
    "future_timestamp": "4xx", "timestamp_hours_old": "4xx", "timestamp_hours_ahead": "4xx",
    "timestamp_days_old": "4xx", "timestamp_days_ahead": "4xx", "forged_signatures": "4xx",
    "valid_signature_first": "2xx", "many_forged_signatures": "4xx", "valid_signature_middle": "2xx",
    "other_scheme": "4xx", "forged_unseen_type": "4xx", "forged_large_body": "4xx", "altered_signature": "4xx",
    "truncated_signature": "4xx", "forged_repeat_id": "4xx", "forged_capitalised_headers": "4xx",
    # A forgery of each event type an endpoint gets, and after a rotation's grace period, the retired key.
    **{f"forged_{t}": "4xx" for t in ("payout_created", "payout_in_review", "payout_pending", "payout_processing",
                                      "payout_retrying", "payout_on_hold", "payout_failed", "payout_rejected",
                                      "payout_cancelled", "payout_returned", "batch_completed",
                                      "settlement_completed")},
    "retired_key": "4xx",
}


def audit(answers: dict[str, int | None]) -> tuple[bool, set[str]]:
    """`answers`: case name → the status the receiver answered (None: no answer). Whether
    the audit passes, and the cases that failed."""
    failed = set()
    for name, status in answers.items():
        want = STANDARD_WEBHOOKS[name]
        ok = status is not None and (200 <= status < 300 if want == "2xx" else 400 <= status < 500)
        if not ok:
            failed.add(name)
    return not failed, failed
