"""No key at rest in plain text: after making merchants and teams (each answer a key, kept
by the idempotency store for a retry), rolling keys and adding a webhook endpoint, a dump of
every text, JSON and bytea column of every table holds none of those keys, whole or without
their prefix. (Other tests of the run send keys on purpose where a client may write
anything, an idempotency key or a description: those are the client's words, kept as sent;
so the keys looked for are those this test made.) The one column left
out is `api_key.prefix`, the key's first 16 characters the key check looks a key up by (8
of a key's 32 random characters; the hash holds the rest). A retried create still answers
with its key (the stored answer's keys are sealed, sandbox/idempotency/sealing.py)."""

from __future__ import annotations

import hashlib
import re

from sandbox import db
from tests.helpers import Api

# Everything a dump shows as text: character types, JSON, bytea and arrays of them.
_COLUMNS = """
SELECT c.table_name, c.column_name, c.data_type
  FROM information_schema.columns c JOIN information_schema.tables t
    ON t.table_schema = c.table_schema AND t.table_name = c.table_name
 WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
   AND (c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'bytea', 'ARRAY'))
 ORDER BY 1, 2"""
_KEY_SHAPE = re.compile(rb"sk_(?:test|admin)_[A-Za-z0-9_\-]{8,}")
LOOKUP_PREFIX = ("api_key", "prefix")


async def dump() -> list[tuple[str, str, bytes]]:
    """(table, column, value as bytes) for every non-null value of every such column."""
    found = []
    for table, column, kind in await db.fetch(_COLUMNS):
        if (table, column) == LOOKUP_PREFIX:
            continue
        as_text = f'"{column}"' if kind == "bytea" else f'"{column}"::text'
        for row in await db.fetch(f'SELECT {as_text} AS v FROM "{table}" WHERE "{column}" IS NOT NULL'):
            value = row["v"]
            found.append((table, column, bytes(value) if isinstance(value, bytes | memoryview) else value.encode()))
    return found


async def no_key_in_the_dump(made: list[str]) -> None:
    """None of `made` in the dump, whole or without its prefix; and nothing shaped like a key
    whose hash is one of theirs (a key spelled another way: JSON-escaped, say)."""
    hashes = {hashlib.sha256(key.encode()).hexdigest() for key in made}
    leaks = []
    for table, column, value in await dump():
        for key in made:
            if key.encode() in value or key.removeprefix("sk_test_").removeprefix("sk_admin_").encode() in value:
                leaks.append(f"{table}.{column}: {key[:12]}…")
        for shaped in _KEY_SHAPE.findall(value):
            if hashlib.sha256(shaped).hexdigest() in hashes:
                leaks.append(f"{table}.{column}: {shaped[:12]!r}…")
    assert not leaks, leaks


async def test_a_database_dump_holds_no_key(stack, admin):
    made: list[str] = []
    for i in range(3):
        idem = f"at-rest-{i}-{stack.base_url}"
        r = await admin.post("/sandbox/merchants", {"name": f"at rest {i}"}, idem=idem)
        assert r.status_code == 201, r.text
        made.append(r.json()["api_key"])
        again = await admin.post("/sandbox/merchants", {"name": f"at rest {i}"}, idem=idem)
        assert again.headers.get("idempotent-replayed") == "true" and again.json()["api_key"] == made[-1]
    team = await admin.post("/admin/teams", {"name": "at rest"})
    assert team.status_code == 201, team.text
    made.append(team.json()["api_key"])
    team_api = Api(stack.base_url, made[-1])
    try:
        r = await team_api.post("/sandbox/merchants", {"name": "team at rest"})
        assert r.status_code == 201, r.text
        made.append(r.json()["api_key"])
        merchant_id = r.json()["merchant"]["id"]
        merchant = Api(stack.base_url, made[-1])
        endpoint = await merchant.post("/webhook-endpoints",
                                       {"url": "https://example.com/hooks", "events": ["payout.*"]})
        assert endpoint.status_code == 201, endpoint.text
        await merchant.aclose()
    finally:
        await team_api.aclose()
    await no_key_in_the_dump(made)

    # Rolled keys: their answers are stored alike.
    rolled = await admin.post(f"/admin/merchants/{merchant_id}/keys/roll", {"overlap_minutes": 5})
    assert rolled.status_code == 201, rolled.text
    rolled_team = await admin.post(f"/admin/teams/{team.json()['team']['id']}/keys/roll", {"overlap_minutes": 5})
    assert rolled_team.status_code == 201, rolled_team.text
    await no_key_in_the_dump([*made, rolled.json()["api_key"], rolled_team.json()["api_key"]])
