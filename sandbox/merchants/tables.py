from piccolo.columns import ForeignKey, Integer, Timestamptz, Varchar
from piccolo.table import Table


class Merchant(Table, tablename="merchant"):
    id = Varchar(length=40, primary_key=True)
    name = Varchar(length=200)
    # Requests per minute for this merchant's keys; NULL means the default.
    rate_limit_per_minute = Integer(null=True, default=None)
    created_at = Timestamptz()


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
