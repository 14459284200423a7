"""Teams on the wire: what the operator sends to make a team or change its quotas, and
what a team looks like with its usage. Struct names are unique in the whole API."""

from __future__ import annotations

from typing import Annotated

import msgspec

from sandbox.core.types import Name, said

Bound = Annotated[int, msgspec.Meta(ge=0, le=1_000_000_000)]


class TeamQuotas(msgspec.Struct, forbid_unknown_fields=True):
    """A team's bounds; null (or left out) is no bound."""

    max_merchants: Annotated[Bound | None, said("Merchants the team may have at once; null: no bound")] = None
    max_payouts_per_day: Annotated[Bound | None, said(
        "Payouts its merchants may make a day (UTC), through POST /payouts and payout batches; null: no bound")] = None
    max_webhook_endpoints: Annotated[Bound | None, said(
        "Webhook endpoints (not deleted) over all its merchants; null: no bound")] = None


class TeamIn(TeamQuotas, forbid_unknown_fields=True, kw_only=True):
    name: Annotated[Name, said("The team's name")]


class TeamUsage(msgspec.Struct):
    """What the team uses of its quotas now."""

    merchants: Annotated[int, said("Its merchants now")]
    payouts_today: Annotated[int, said("Payouts its merchants made today (UTC): POST /payouts and batches")]
    webhook_endpoints: Annotated[int, said("Webhook endpoints (not deleted) over all its merchants")]


class Team(msgspec.Struct):
    """A team that shares the sandbox: its quotas and what it uses of them."""

    id: Annotated[str, said("The team's id (`team_…`); the operator's own is `team_operator`")]
    name: Annotated[str, said("The team's name")]
    quotas: TeamQuotas
    usage: TeamUsage
    created_at: Annotated[str, said("When it was made (RFC 3339)")]


class NewTeam(msgspec.Struct):
    team: Team
    api_key: Annotated[str, said("The team key (shown only here): an admin key for this team's merchants only")]


class TeamList(msgspec.Struct):
    data: Annotated[list[Team], said("Every team, the operator's first, then oldest first (at most 1,000)")]
