"""The retention dry run and the `keep` mark on the wire."""

from __future__ import annotations

from typing import Annotated

import msgspec

from sandbox.core.types import said


class IdleMerchant(msgspec.Struct):
    merchant_id: Annotated[str, said("The merchant's id (`mch_…`)")]
    name: Annotated[str, said("The merchant's name")]
    team_id: Annotated[str, said("Its team")]
    last_active_at: Annotated[str, said("When one of its keys last made a request (RFC 3339, real time)")]
    rows: Annotated[dict[str, int], said(
        "The rows removing it now would remove, by table (tables with none left out): the counts a pass logs")]
    redis_keys: Annotated[int, said("Its keys in Redis removing it now would remove")]


class RetentionCounts(msgspec.Struct):
    """What removing the listed merchants now would remove, in all."""

    merchants: Annotated[int, said("Merchants listed")]
    rows: Annotated[dict[str, int], said("Rows by table (tables with none left out)")]
    redis_keys: Annotated[int, said("Keys in Redis")]


class RetentionDryRun(msgspec.Struct):
    """What the worker's next passes would remove, in the order they would, and nothing removed."""

    retention_days: Annotated[float, said("SANDBOX_RETENTION_DAYS: idle longer than this is removed; 0: off")]
    idle_before: Annotated[str, said("Merchants last active before this time are idle (RFC 3339)")]
    data: Annotated[list[IdleMerchant], said(
        "The idle merchants not marked keep (a team key's: its team's only), longest idle first")]
    has_more: Annotated[bool, said("More idle merchants than `limit`")]
    totals: Annotated[RetentionCounts, said("The listed merchants' counts added up")]


class KeepIn(msgspec.Struct, forbid_unknown_fields=True):
    keep: Annotated[bool, said("true: retention spares the merchant however long it is idle; false: it does not")]


class KeepOut(msgspec.Struct):
    merchant_id: Annotated[str, said("The merchant's id (`mch_…`)")]
    keep: Annotated[bool, said("Whether retention spares it")]
