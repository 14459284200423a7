from piccolo.columns import Timestamptz, Varchar
from piccolo.table import Table


class IpnNotification(Table, tablename="ipn_notification"):
    """Every rail notification applied, so a duplicate is a no-op."""

    id = Varchar(length=100, primary_key=True)  # the rail's notification_id
    psp_reference = Varchar(length=40, index=True)
    status = Varchar(length=20)
    received_at = Timestamptz()
