"""What to do after the API refused a tool's request: the API's words state the fact ("No
such payout", "The payout is returned; it cannot become cancelled"); the agent also needs
the next step, in this server's terms (a tool to call). One table, by the API path the
refused request asked for and the refusal's status (and code), so every tool that asks
for the same kind of object gives the same advice."""

from __future__ import annotations

import re

# (path pattern, status, problem code or None for any) -> the advice; the first that matches.
# A 409 other than invalid_state (an idempotency key reused with another body, a duplicate
# reference) says in the API's own words what to do.
_ADVICE: tuple[tuple[re.Pattern[str], int, str | None, str], ...] = (
    (re.compile(r"^/(sandbox/)?payouts/[^/?]+"), 404, None,
     "list_payouts lists this merchant's payouts and their ids (a payout is found only by the merchant that made "
     "it: pass the `merchant` handle create_payout acted for)"),
    (re.compile(r"^/payouts/[^/?]+/cancel"), 409, "invalid_state",
     "a payout is cancelled only while pending (not yet at the bank), in review or on hold: explain_payout says "
     "where this one is and what can still happen to it"),
    (re.compile(r"^/payouts/[^/?]+/reinitiate"), 409, "invalid_state",
     "only a failed payout is reinitiated: explain_payout says where this one is; for a returned or cancelled "
     "one, create_payout makes a new payout"),
    (re.compile(r"^/sandbox/payouts/[^/?]+/simulate"), 409, "invalid_state",
     "the bank answers only a payout it holds (processing, not yet answered): explain_payout says where this one "
     "is and what it waits for (advance_clock moves a manual clock to the bank)"),
    (re.compile(r"^/payouts"), 409, "invalid_state",
     "explain_payout says where the payout is and what can still be done with it"),
    (re.compile(r"^/events/[^/?]+"), 404, None,
     "webhook_deliveries with a payout_id lists that payout's events and their ids (list_payouts lists the "
     "payouts)"),
    (re.compile(r"^/webhook-endpoints/[^/?]+"), 404, None,
     "list_webhook_endpoints lists this merchant's endpoints and their ids; register_webhook_endpoint makes one"),
    (re.compile(r"^/webhook-endpoints/[^/?]+"), 409, "invalid_state",
     "list_webhook_endpoints says each endpoint's status: the audit runs on an enabled endpoint"),
    (re.compile(r"^/sandbox/requests/[^/?]+"), 404, None,
     "list_requests lists this merchant's logged requests and their ids (an id is the X-Request-ID header of an "
     "answer, req_…)"),
)
# An MCP session keeps nothing of the API open between calls (each call is one request with
# the key), so a revoked key reaches nothing of it; its next call is refused, and says so here.
KEY_STOPPED = ("the key this call acts with no longer works: it was revoked, or rolled and its overlap has ended, or "
               "its merchant was removed. Started with a merchant's --key: start sandbox mcp again with the new key; "
               "started with the admin key: call new_merchant for a fresh merchant and use its handle")
_ANY_404 = "the id is not one of this merchant's: the list_… tool of that kind of object lists the ids there are"
_ANY_409 = ("the object is not in a state that allows it: read it again (explain_payout for a payout) and act on "
            "what it says")


def after_refusal(path: str, status: int, code: str) -> str | None:
    """The advice for a refused request to `path` (below /api/v1); None where the API's own
    words already say what to do (a 400 names the field and what it must be)."""
    for pattern, wanted, wanted_code, said in _ADVICE:
        if status == wanted and (wanted_code is None or wanted_code == code) and pattern.match(path):
            return said
    if status == 401:
        return KEY_STOPPED
    if status == 404:
        return _ANY_404
    return _ANY_409 if status == 409 and code == "invalid_state" else None
