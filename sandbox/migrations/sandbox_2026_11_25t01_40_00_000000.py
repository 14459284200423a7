"""`fault_rule.delay_s` is a double precision: as a `real` (4 bytes), `delay_s: 0.01` came
back as 0.009999999776482582. A double holds every value a client sends (a JSON number
parsed as a Python float) exactly as it was sent; the rules already kept are rounded to
the microsecond on the way, which gives back what their clients sent."""

ID = "2026-11-25T01:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "fault_rule.delay_s double precision"

FORWARDS = [
    "ALTER TABLE fault_rule ALTER COLUMN delay_s TYPE double precision"
    " USING round(delay_s::numeric, 6)::double precision",
]

BACKWARDS = [
    "ALTER TABLE fault_rule ALTER COLUMN delay_s TYPE real",
]


async def forwards():
    from sandbox.db import sql_migration

    return sql_migration(ID, DESCRIPTION, FORWARDS, BACKWARDS)
