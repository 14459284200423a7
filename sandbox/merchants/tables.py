from piccolo.columns import Boolean, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.table import Table


class Merchant(Table, tablename="merchant"):
    id = Varchar(length=40, primary_key=True)
    name = Varchar(length=200)
    # Requests per minute for this merchant's keys; NULL means the default.
    rate_limit_per_minute = Integer(null=True, default=None)
    created_at = Timestamptz()
    # The one team it belongs to (table `team`, sandbox/teams/); the operator's own are
    # `team_operator`. Made by migration 2026-11-28T00:40, as `keep` is.
    team = Varchar(length=40, default="team_operator")
    # Spared by retention however long it stays idle (sandbox/retention/).
    keep = Boolean(default=False)
    # The idempotency key (scope, key) of the request that made it, if one did: its stored
    # answer is in the maker's scope, and retention removes it with the merchant.
    made_by_scope = Varchar(length=60, null=True, default=None)
    made_by_key = Varchar(length=255, null=True, default=None)


class ApiKey(Table, tablename="api_key"):
    id = Varchar(length=40, primary_key=True)
    # NULL for admin keys: an admin acts on every merchant.
    merchant = ForeignKey(Merchant, null=True, index=True)
    role = Varchar(length=16)  # "merchant" | "admin"
    # The first characters of the key, to find the row; the key itself is never stored.
    prefix = Varchar(length=24, unique=True)
    key_hash = Varchar(length=64)
    created_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    # A team key (role admin, no merchant) acts for this team only; NULL on the operator's
    # admin key, which acts on every team.
    team = Varchar(length=40, null=True, default=None)
