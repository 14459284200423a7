"""The webhooks' HTTP face: the routes of /webhook-endpoints, /events and the receiver
audit, thin. It may import `endpoints`, `audit` and `model` (the wire shapes), never the
delivery machinery or the SQL directly."""
