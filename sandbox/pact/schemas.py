"""What a Pact verifier sends: a provider-state change, or a request for a message; and
each state's params, closed (an unknown param is named back to the verifier)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from sandbox.core.types import Amount

# A verifier's params arrive as the pact recorded them: any JSON.
Params = dict[str, Any]


class StateChange(msgspec.Struct):
    """Pact's provider-state protocol: POSTed before (`setup`) and after (`teardown`) each
    interaction that names the state."""

    state: Annotated[str, msgspec.Meta(max_length=200)]
    params: Params = {}
    # "check": the sandbox's own (sandbox pact verify asks it first): the params judged,
    # nothing made.
    action: Literal["setup", "teardown", "check"] = "setup"


class ProviderState(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(max_length=200)]
    params: Params = {}


class MessageRequest(msgspec.Struct, rename="camel"):
    """Pact's message-producer protocol: which message, under which provider states."""

    description: Annotated[str, msgspec.Meta(max_length=500)]
    provider_states: list[ProviderState] = []
    # The sandbox's own (sandbox pact verify asks it first): the message judged, nothing made.
    check: bool = False


# --- each state's params --------------------------------------------------------------

class MerchantParams(msgspec.Struct, forbid_unknown_fields=True):
    balance: Amount = "1000000.00"


class PayoutParams(msgspec.Struct, forbid_unknown_fields=True):
    # A built-in scenario's name, or a scenario of the merchant's own in the shape of
    # POST /sandbox/scenarios (made in the state's fresh merchant first).
    scenario: str | dict[str, Any] = "success"
    status: str | None = None  # None: where the scenario's walk ends
    amount: Amount = "1500.00"
    balance: Amount = "1000000.00"


class ReviewParams(msgspec.Struct, forbid_unknown_fields=True):
    amount: Amount | None = None  # None: the review threshold itself
    balance: Amount = "1000000.00"


class EndpointParams(msgspec.Struct, forbid_unknown_fields=True):
    url: str = "https://receiver.example/webhooks"
    events: list[str] = msgspec.field(default_factory=lambda: ["*"])
    signing: Literal["hmac-sha256", "ed25519"] = "hmac-sha256"


class BatchParams(msgspec.Struct, forbid_unknown_fields=True):
    # Either the batch's items as POST /payout-batches takes them, or a count of items by
    # scenario name ({"success": 2, "failed_account_closed": 1}).
    rows: list[dict[str, Any]] | dict[str, int] = msgspec.field(default_factory=lambda: {"success": 1})
    balance: Amount = "1000000.00"
