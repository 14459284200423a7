"""Generated histories of a merchant's requests for the safe-retries oracle test: what a
client sends (payouts to destinations that differ only in case, spacing or spelling of one
account, or name another; retries with the same key and with new ones; reads by id and by
reference; other writes; clock moves) with the faults it gets (after commit, before
anything, on reads and on writes), and the request log and payouts the sandbox keeps for
it. The log follows the API's rules for what it records (tests/requests pin them over HTTP;
test_oracle_safe_retries.py plays a few histories over HTTP too): a fault before anything
answers 503 and claims no key; a reused key with the same body replays, with another body
conflicts (422); a reference used twice is refused (409, stored under the key)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from sandbox.directory import raast
from sandbox.payouts.model import destinations
from tests.verdicts.oracles import ROOT

DIRECTORY = json.loads((ROOT / "seeds" / "directory.json").read_text())
BANKS = {b["code"]: b for b in DIRECTORY["banks"]}
IBAN_CODES = {b["iban_code"]: b["code"] for b in DIRECTORY["banks"]}
WALLETS = {w["code"] for w in DIRECTORY["wallets"]}
ALIAS = "03001230001"
ALIAS_BANK, ALIAS_ACCOUNT = raast.resolve(ALIAS, list(BANKS))


def _iban(bank: str, account: str) -> str:
    bban = BANKS[bank]["iban_code"] + account.rjust(16, "0")
    return "PK" + destinations.iban_check_digits("PK", bban) + bban


IBAN = _iban("HBL", "12345678900001")
# What a client may send, as sent: the first eight are one account, the Raast alias and
# the account it resolves to are another, each wallet another, and so on.
SENT = [
    {"type": "bank", "bank_code": "HBL", "account_number": "12345678900001", "account_title": "Ali Raza"},
    {"type": "bank", "bank_code": "HBL", "account_number": "12345678900001", "account_title": "ALI RAZA"},
    {"type": "bank", "bank_code": "HBL", "account_number": "12345678900001", "account_title": "  Ali   Raza "},
    {"type": "bank", "bank_code": "HBL", "account_number": "12345678900001"},
    {"type": "bank", "bank_code": "HBL", "account_number": "0012345678900001", "account_title": "Ali Raza"},
    {"type": "bank", "iban": " ".join(IBAN[i:i + 4] for i in range(0, 24, 4)).lower(), "account_title": "ali raza"},
    {"type": "bank", "iban": IBAN},
    {"type": "bank", "iban": IBAN, "bank_code": "HBL", "account_title": "Raza, Ali"},
    {"type": "bank", "bank_code": "UBL", "account_number": "12345678900001", "account_title": "Ali Raza"},
    {"type": "bank", "bank_code": "HBL", "account_number": "12345678900002", "account_title": "Ali Raza"},
    {"type": "raast", "alias": ALIAS, "account_title": "Ali Raza"},
    {"type": "bank", "bank_code": ALIAS_BANK, "account_number": ALIAS_ACCOUNT, "account_title": "ALI RAZA"},
    {"type": "wallet", "wallet_code": "EASYPAISA", "account_number": ALIAS},
    {"type": "wallet", "wallet_code": "JAZZCASH", "account_number": ALIAS},
]
AMOUNTS = ["10.00", "20.00"]
AFTER = ["response_lost", "timeout", "error_after_commit"]
FAULTS = st.sampled_from([None, None, None, *AFTER, "unavailable", "slow"])


def stored(sent: dict) -> dict:
    """The destination as the API stores it (its own normalisation, `destinations.validate`)."""
    return destinations.validate(dict(sent), BANKS, IBAN_CODES, WALLETS)[0]


# One client action each: (kind, choices...). Indexes pick among what exists when it runs.
ACTIONS = st.one_of(
    st.tuples(st.just("pay"), st.integers(0, len(SENT) - 1), st.sampled_from(AMOUNTS),
              st.sampled_from([None, None, "ref-a", "ref-b"]), FAULTS),
    st.tuples(st.just("retry"), st.integers(0, 20), st.booleans(), FAULTS),  # same key; same body or not
    st.tuples(st.just("read"), st.integers(0, 20), FAULTS),
    st.tuples(st.just("read_reference"), st.sampled_from(["ref-a", "ref-b", "ref-c"]), FAULTS),
    st.tuples(st.just("list"), FAULTS),
    st.tuples(st.just("cancel"), st.integers(0, 20), st.booleans(), FAULTS),  # a new key; refused or not
    st.tuples(st.just("endpoint"), FAULTS),
    st.tuples(st.just("refused"), FAULTS),  # a POST /payouts refused (422): it wrote nothing
    st.tuples(st.just("advance"), st.integers(0, 3600), FAULTS),
)
HISTORIES = st.lists(ACTIONS, min_size=1, max_size=14)


@dataclass
class Played:
    """The request log (oldest first, as the verdict reads it) and the payouts by id."""

    log: list[dict] = field(default_factory=list)
    payouts: dict[str, dict] = field(default_factory=dict)  # id → number, amount (minor), destination, reference
    keys: dict[str, tuple[str, int, list[str]]] = field(default_factory=dict)  # key → body, status, objects
    pays: list[tuple[str, str]] = field(default_factory=list)  # (key, body) of each pay sent
    clock: datetime = datetime(2026, 1, 1, tzinfo=UTC)

    def entry(self, method: str, route: str, path: str, status: int, key: str | None, outcome: str | None,
              fault: str | None, objects: list[str]) -> None:
        made = objects[-1] if method == "POST" and route == "/api/v1/payouts" and objects else None
        self.log.append({"id": f"req_{len(self.log):04d}", "at": self.clock, "method": method, "route": route,
                         "path": path, "status": status, "idempotency_key": key, "idempotency_outcome": outcome,
                         "fault": fault, "object_ids": objects, "payout_id": made})

    def write(self, route: str, path: str, key: str, body: str, fault: str | None, effect) -> None:
        """A write under `key`: refused before anything, replayed, conflicting, or run
        (`effect()` → (status, objects))."""
        if fault == "unavailable":
            self.entry("POST", route, path, 503, None, None, fault, [])
        elif key in self.keys:
            first_body, status, objects = self.keys[key]
            if first_body == body:
                self.entry("POST", route, path, status, key, "replayed", fault, objects)
            else:
                self.entry("POST", route, path, 422, key, "conflict", fault, [])
        else:
            status, objects = effect()
            if status < 500 and status != 422:  # what the key keeps (a validation error is not kept)
                self.keys[key] = (body, status, objects)
            self.entry("POST", route, path, status, key, "first", fault, objects)

    def pay(self, key: str, body: str, fault: str | None) -> None:
        def effect() -> tuple[int, list[str]]:
            sent = json.loads(body)
            if sent["reference"] is not None and any(p["reference"] == sent["reference"]
                                                     for p in self.payouts.values()):
                return 409, []
            payout_id = f"po_{len(self.payouts):06d}"
            self.payouts[payout_id] = {"number": len(self.payouts) + 1, "amount": int(sent["amount"][:-3]) * 100,
                                       "destination": stored(sent["destination"]), "reference": sent["reference"]}
            return 201, [payout_id]
        self.write("/api/v1/payouts", "/api/v1/payouts", key, body, fault, effect)

    def payout(self, index: int) -> str:
        return list(self.payouts)[index % len(self.payouts)] if self.payouts else "po_nowhere"


def play(history: list[tuple]) -> Played:
    played = Played()
    for n, action in enumerate(history):
        kind, *args = action
        played.clock += timedelta(seconds=1)
        if kind == "pay":
            sent, amount, reference, fault = args
            body = json.dumps({"amount": amount, "destination": SENT[sent], "reference": reference})
            key = f"key-{n}"
            played.pays.append((key, body))
            played.pay(key, body, fault)
        elif kind == "retry":
            index, same_body, fault = args
            if not played.pays:
                continue
            key, body = played.pays[index % len(played.pays)]
            if not same_body:
                body = json.dumps({**json.loads(body), "amount": "99.00"})
            played.pay(key, body, fault)
        elif kind == "read":
            index, fault = args
            payout_id = played.payout(index)
            status = 503 if fault == "unavailable" else 200 if payout_id in played.payouts else 404
            played.entry("GET", "/api/v1/payouts/{payout_id}", f"/api/v1/payouts/{payout_id}", status, None, None,
                         fault, [payout_id])
        elif kind == "read_reference":
            reference, fault = args
            played.entry("GET", "/api/v1/payouts", f"/api/v1/payouts?reference={reference}",
                         503 if fault == "unavailable" else 200, None, None, fault, [])
        elif kind == "list":
            (fault,) = args
            played.entry("GET", "/api/v1/payouts", "/api/v1/payouts?limit=10", 503 if fault == "unavailable" else 200,
                         None, None, fault, [])
        elif kind == "cancel":
            index, refused, fault = args
            payout_id = played.payout(index)
            path = f"/api/v1/payouts/{payout_id}/cancel"
            status = 404 if payout_id not in played.payouts else 409 if refused else 200
            played.write("/api/v1/payouts/{payout_id}/cancel", path, f"key-{n}", "{}", fault,
                         lambda status=status, payout_id=payout_id: (status, [payout_id]))
        elif kind == "endpoint":
            (fault,) = args
            played.write("/api/v1/webhook-endpoints", "/api/v1/webhook-endpoints", f"key-{n}", "{}", fault,
                         lambda n=n: (201, [f"we_{n:04d}"]))
        elif kind == "refused":
            (fault,) = args
            played.write("/api/v1/payouts", "/api/v1/payouts", f"key-{n}", "{bad}", fault, lambda: (422, []))
        elif kind == "advance":
            seconds, fault = args
            played.clock += timedelta(seconds=seconds)
            played.write("/api/v1/sandbox/clock/advance", "/api/v1/sandbox/clock/advance", f"key-{n}", "{}", fault,
                         lambda: (200, []))
    return played
