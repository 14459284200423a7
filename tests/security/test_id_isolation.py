"""Isolation as a table: every route whose path takes an id, read from the apps' own route
tables (the API's, its dashboard's and the IPN's), is in `ROUTES` or `DASHBOARD_ROUTES`
with how to get a real id owned by merchant A (of team TA). Each is called with A's ids by
those who must not reach them:

- a merchant route: merchant B (of another team, TB) and merchant C (of A's own team);
- an admin route (a team key does what the admin key does, for its own team only): TB's
  team key; B and C, merchants, are refused for their role;
- an operator route: every key but the operator's is refused for its role.

Each answers exactly as it answers for a missing id (404 `not_found`, or the role's 403,
which names no id), and A's objects are the same afterwards. A route that takes an id and
is not in a table fails `test_every_route_that_takes_an_id_is_in_the_table`, naming it,
until it is listed here.

The dashboard's pages are called the same way, signed in (a browser's cookie and its form
token): a page with another's id is the 404 page a missing id gets; a form posted with it
redirects with the flash message a missing id gets."""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal

import httpx
import pytest

from sandbox import db
from sandbox.dashboard.pages import IDEMPOTENCY_FIELD
from sandbox.dashboard.session import CSRF_FIELD
from sandbox.settlements import service as settlements
from tests.helpers import Api, new_team, payout_body, wait_for
from tests.security.test_hostile_dashboard import Browser
from tests.teams.conftest import new_team_merchant

REVIEW_AMOUNT = "150000.00"  # at or above the review threshold: the payout waits in_review
UNREACHABLE = "http://127.0.0.1:9/hook"  # nothing listens: an audit's requests are refused at once
PARAM = re.compile(r"{(\w+)(?::\w+)?}")

Scope = Literal["merchant", "admin", "operator"]


@dataclass(frozen=True)
class Case:
    """How to call one route with A's ids: which of them fills each path parameter, and
    the body a real call sends (a valid one, so that only the id can refuse it)."""

    scope: Scope
    ids: dict[str, str]
    body: dict | None = None
    fixed: dict[str, str] = field(default_factory=dict)


ACK = {"acks": [{"id": "0" * 32 + ".1." + "0" * 32, "status_code": 200}]}
ROUTES: dict[tuple[str, str], Case] = {
    ("GET", "/api/v1/payouts/{payout_id}"): Case("merchant", {"payout_id": "payout"}),
    ("POST", "/api/v1/payouts/{payout_id}/cancel"): Case("merchant", {"payout_id": "payout"}, {}),
    ("POST", "/api/v1/payouts/{payout_id}/reinitiate"): Case("merchant", {"payout_id": "payout"}, {}),
    ("POST", "/api/v1/sandbox/payouts/{payout_id}/simulate"): Case("merchant", {"payout_id": "payout"},
                                                                   {"status": "success"}),
    ("DELETE", "/api/v1/sandbox/scenarios/{name}"): Case("merchant", {"name": "scenario"}),
    ("GET", "/api/v1/webhook-endpoints/{endpoint_id}"): Case("merchant", {"endpoint_id": "endpoint"}),
    ("PATCH", "/api/v1/webhook-endpoints/{endpoint_id}"): Case("merchant", {"endpoint_id": "endpoint"},
                                                               {"status": "disabled"}),
    ("DELETE", "/api/v1/webhook-endpoints/{endpoint_id}"): Case("merchant", {"endpoint_id": "endpoint"}),
    ("POST", "/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret"): Case("merchant", {"endpoint_id": "endpoint"},
                                                                            {"grace_period_seconds": 0}),
    ("POST", "/api/v1/webhook-endpoints/{endpoint_id}/audit"): Case("merchant", {"endpoint_id": "endpoint"}),
    ("GET", "/api/v1/webhook-endpoints/{endpoint_id}/audits"): Case("merchant", {"endpoint_id": "endpoint"}),
    ("GET", "/api/v1/webhook-endpoints/{endpoint_id}/audits/{audit_id}"): Case(
        "merchant", {"endpoint_id": "endpoint", "audit_id": "audit"}),
    ("GET", "/api/v1/events/{event_id}"): Case("merchant", {"event_id": "event"}),
    ("GET", "/api/v1/events/{event_id}/deliveries"): Case("merchant", {"event_id": "event"}),
    ("POST", "/api/v1/events/{event_id}/resend"): Case("merchant", {"event_id": "event"}, {}),
    ("GET", "/api/v1/webhook-listeners/{endpoint_id}/stream"): Case("merchant", {"endpoint_id": "listener"}),
    ("POST", "/api/v1/webhook-listeners/{endpoint_id}/acks"): Case("merchant", {"endpoint_id": "listener"}, ACK),
    ("GET", "/api/v1/sandbox/collections/{collection_id}"): Case("merchant", {"collection_id": "collection"}),
    ("GET", "/api/v1/settlements/{settlement_id}"): Case("merchant", {"settlement_id": "settlement"}),
    ("GET", "/api/v1/settlements/{settlement_id}/report.csv"): Case("merchant", {"settlement_id": "settlement"}),
    ("GET", "/api/v1/payout-batches/{batch_id}"): Case("merchant", {"batch_id": "batch"}),
    ("GET", "/api/v1/payout-batches/{batch_id}/items"): Case("merchant", {"batch_id": "batch"}),
    ("POST", "/api/v1/payout-batches/{batch_id}/retry"): Case("merchant", {"batch_id": "batch"}),
    ("GET", "/api/v1/sandbox/requests/{request_id}"): Case("merchant", {"request_id": "request"}),
    ("DELETE", "/api/v1/sandbox/faults/{rule_id}"): Case("merchant", {"rule_id": "fault"}),
    ("POST", "/api/v1/admin/payouts/{payout_id}/approve"): Case("admin", {"payout_id": "review"}, {"reason": "x"}),
    ("POST", "/api/v1/admin/payouts/{payout_id}/reject"): Case("admin", {"payout_id": "review"}, {"reason": "x"}),
    ("POST", "/api/v1/admin/payouts/{payout_id}/release"): Case("admin", {"payout_id": "review"}, {"reason": "x"}),
    ("GET", "/api/v1/admin/merchants/{merchant_id}/rate-limit"): Case("admin", {"merchant_id": "merchant"}),
    ("PUT", "/api/v1/admin/merchants/{merchant_id}/rate-limit"): Case("admin", {"merchant_id": "merchant"},
                                                                      {"requests_per_minute": 1}),
    ("DELETE", "/api/v1/admin/merchants/{merchant_id}/rate-limit"): Case("admin", {"merchant_id": "merchant"}),
    ("PUT", "/api/v1/admin/merchants/{merchant_id}/keep"): Case("admin", {"merchant_id": "merchant"},
                                                                {"keep": True}),
    ("POST", "/api/v1/admin/merchants/{merchant_id}/keys/roll"): Case("admin", {"merchant_id": "merchant"},
                                                                      {"overlap_minutes": 0}),
    ("PUT", "/api/v1/admin/teams/{team_id}/quotas"): Case("operator", {"team_id": "team"}, {"max_merchants": 0}),
    ("POST", "/api/v1/admin/teams/{team_id}/keys/roll"): Case("operator", {"team_id": "team"},
                                                              {"overlap_minutes": 0}),
}
# Path parameters that name no object of anyone's: the spec's and the dashboard's files,
# and the dashboard's catch-all for pages that need a sign-in.
NOT_IDS = {("GET", "/schema/{path}"), ("GET", "/dashboard/static/{file_path}"), ("GET", "/dashboard/{rest}")}
# The dashboard's: `fixed` fills a path parameter that names no object (the action), `body`
# is the form's fields besides its token.
DASHBOARD = "/dashboard"
PAYOUT_ACTIONS = "/dashboard/payouts/{payout_id}/{action}"
DASHBOARD_ROUTES: dict[tuple[str, str], list[Case]] = {
    ("GET", "/dashboard/payouts/{payout_id}"): [Case("merchant", {"payout_id": "payout"})],
    ("GET", "/dashboard/payouts/{payout_id}/live"): [Case("merchant", {"payout_id": "payout"})],
    ("POST", PAYOUT_ACTIONS): [
        Case("merchant", {"payout_id": "payout"}, {"reason": "x"}, fixed={"action": "cancel"}),
        Case("merchant", {"payout_id": "payout"}, {}, fixed={"action": "reinitiate"}),
        Case("merchant", {"payout_id": "payout"}, {"status": "success"}, fixed={"action": "simulate"}),
        *(Case("admin", {"payout_id": "review"}, {"reason": "x"}, fixed={"action": action})
          for action in ("approve", "reject", "release"))],
    ("POST", "/dashboard/scenarios/{name}/delete"): [Case("merchant", {"name": "scenario"}, {})],
    ("POST", "/dashboard/webhooks/{endpoint_id}/delete"): [Case("merchant", {"endpoint_id": "endpoint"}, {})],
    ("POST", "/dashboard/webhooks/{endpoint_id}/audit"): [Case("merchant", {"endpoint_id": "endpoint"}, {})],
    ("POST", "/dashboard/events/{event_id}/resend"): [Case("merchant", {"event_id": "event"}, {})],
    ("GET", "/dashboard/batches/{batch_id}"): [Case("merchant", {"batch_id": "batch"})],
    ("GET", "/dashboard/batches/{batch_id}/live"): [Case("merchant", {"batch_id": "batch"})],
    ("POST", "/dashboard/batches/{batch_id}/retry"): [Case("merchant", {"batch_id": "batch"}, {})],
    ("GET", "/dashboard/requests/{request_id}"): [Case("merchant", {"request_id": "request"})],
}


def id_routes(app) -> set[tuple[str, str]]:
    """(method, path) of every route of `app` with a path parameter, the parameter's type dropped."""
    from litestar.routes import HTTPRoute

    return {(method, PARAM.sub(r"{\1}", route.path))
            for route in app.routes if isinstance(route, HTTPRoute) and PARAM.search(route.path)
            for method in route.methods if method not in ("OPTIONS", "HEAD")}


def test_every_route_that_takes_an_id_is_in_the_table(stack):
    from ipn.app import create_app as create_ipn_app
    from sandbox.api.app import create_app

    routes = id_routes(create_app()) | id_routes(create_ipn_app())
    listed = ROUTES.keys() | DASHBOARD_ROUTES.keys()
    unlisted = sorted(routes - listed - NOT_IDS)
    assert not unlisted, f"routes that take an id and are in no table (say how to get A's id): {unlisted}"
    gone = sorted(listed - routes)
    assert not gone, f"the tables list routes the app no longer has: {gone}"


@dataclass
class World:
    admin: Api
    team_a: Api  # A's and C's team key
    team_b: Api  # B's team key
    a: Api
    b: Api
    c: Api
    ids: dict[str, str]
    seen: dict[str, object] = field(default_factory=dict)  # what A saw of its objects before any call

    def callers(self, scope: Scope) -> dict[str, tuple[Api, int]]:
        """Who must not reach A's objects on a route of this scope, and the status each gets."""
        merchants = {"merchant B (another team)": (self.b, 404), "merchant C (A's team)": (self.c, 404)}
        if scope == "merchant":
            return merchants
        merchants = {who: (api, 403) for who, (api, _) in merchants.items()}
        if scope == "admin":
            return {"team key of another team": (self.team_b, 404), **merchants}
        return {"team key of another team": (self.team_b, 403), "team key of A's team": (self.team_a, 403),
                **merchants}


async def _made(r: httpx.Response, status: int = 201) -> dict:
    assert r.status_code == status, r.text
    return r.json()


@pytest.fixture(scope="module")
async def world(stack) -> AsyncIterator[World]:
    """Once for the module: A owns one of everything an id names; B and C own their own."""
    admin = Api(stack.base_url, stack.admin_key)
    team_a = await new_team(stack, admin, "isolation-A")
    team_b = await new_team(stack, admin, "isolation-B")
    a, c = await new_team_merchant(stack, team_a), await new_team_merchant(stack, team_a)
    b = await new_team_merchant(stack, team_b)
    ids = {"merchant": a.merchant_id, "team": team_a.team_id}
    ids["payout"] = (await _made(await a.post("/payouts", payout_body())))["id"]
    review = await _made(await a.post("/payouts", payout_body(REVIEW_AMOUNT)))
    assert review["status"] == "in_review", review
    ids["review"] = review["id"]
    ids["endpoint"] = (await _made(await a.post("/webhook-endpoints", {"url": UNREACHABLE})))["id"]
    ids["audit"] = (await _made(await a.post(f"/webhook-endpoints/{ids['endpoint']}/audit"), 200))["id"]
    ids["listener"] = (await _made(await a.post("/webhook-listeners", {"name": "isolation"}), 200))["endpoint"]["id"]
    ids["event"] = (await _made(await a.get("/events"), 200))["data"][0]["id"]
    ids["collection"] = (await _made(await a.post("/sandbox/collections", {"amount": "10.00"})))["id"]
    await settlements.run_due()  # what the cron job runs: A's collection settles in a run of its own
    ids["settlement"] = (await _made(await a.get(f"/sandbox/collections/{ids['collection']}"), 200))["settlement_id"]
    assert ids["settlement"], "the collection was not settled"
    batch = {"items": [{"amount": "1.00", "destination": {"type": "bank", "bank_code": "HBL",
                                                          "account_number": "12345678900001"}}]}
    ids["batch"] = (await _made(await a.post("/payout-batches", batch), 202))["id"]
    ids["fault"] = (await _made(await a.post("/sandbox/faults", {"path": "/contract-test/none", "fault": "slow",
                                                                "times": 1, "delay_s": 0})))["id"]
    ids["scenario"] = f"isolation_{secrets.token_hex(4)}"
    await _made(await a.post("/sandbox/scenarios", {"name": ids["scenario"], "title": "t", "steps": [
        {"status": "processing", "after_s": 1, "submit": True}, {"status": "success", "after_s": 1}]}))

    async def logged() -> str | None:
        page = (await a.get("/sandbox/requests", params={"method": "POST", "path": "/api/v1/payouts"})).json()
        return page["data"][0]["id"] if page["data"] else None

    ids["request"] = await wait_for(logged, timeout=20, what="A's request in its log")
    world = World(admin, team_a, team_b, a, b, c, ids)
    world.seen = await snapshot(world)
    yield world
    for endpoint in ("endpoint", "listener"):  # nothing of A's left to deliver to in later tests
        await a.delete(f"/webhook-endpoints/{ids[endpoint]}")
    for api in (a, b, c, team_a, team_b, admin):
        await api.aclose()


async def snapshot(w: World) -> dict[str, object]:
    """What A (and its team, and the operator) can see of A's objects: the same after every probe."""
    i = w.ids
    reads = {
        "payout": f"/payouts/{i['payout']}", "review": f"/payouts/{i['review']}",
        "endpoint": f"/webhook-endpoints/{i['endpoint']}", "listener": f"/webhook-endpoints/{i['listener']}",
        "audits": f"/webhook-endpoints/{i['endpoint']}/audits", "event": f"/events/{i['event']}",
        "deliveries": f"/events/{i['event']}/deliveries", "collection": f"/sandbox/collections/{i['collection']}",
        "settlement": f"/settlements/{i['settlement']}", "batch": f"/payout-batches/{i['batch']}",
        "items": f"/payout-batches/{i['batch']}/items", "request": f"/sandbox/requests/{i['request']}",
        "faults": "/sandbox/faults", "scenarios": "/sandbox/scenarios", "balance": "/balance",
    }
    seen: dict[str, object] = {}
    for name, path in reads.items():
        r = await w.a.get(path)
        seen[name] = (r.status_code, r.json())
    r = await w.team_a.get(f"/admin/merchants/{i['merchant']}/rate-limit")  # TA's key still works too
    seen["rate-limit"] = (r.status_code, r.json())
    teams = (await w.admin.get("/admin/teams")).json()["data"]
    seen["team"] = next(t for t in teams if t["id"] == i["team"])
    seen["keep"] = await db.fetchval("SELECT keep FROM merchant WHERE id = $1", i["merchant"])
    unread = [name for name, answer in seen.items() if isinstance(answer, tuple) and answer[0] != 200]
    assert not unread, f"A could not read its own {unread}: the table's ids are not A's"
    return seen


async def call(api: Api, method: str, path: str, body: dict | None) -> tuple[int, dict | str]:
    """The answer's status and body, a stream's body unread (one that opened would never end)."""
    headers = {"X-Idempotency-Key": secrets.token_hex(16)} if method != "GET" else {}
    async with api.http.stream(method, path.removeprefix("/api/v1"), json=body, headers=headers) as r:
        if r.headers.get("content-type", "").startswith("text/event-stream"):
            return r.status_code, "an open stream"
        await r.aread()
        is_json = r.headers.get("content-type", "").endswith("json")
        return r.status_code, r.json() if is_json else r.text


def missing(value: str) -> str:
    """An id shaped as `value` that names nothing."""
    prefix, sep, _ = value.rpartition("_")
    return f"{prefix}{sep}missing{secrets.token_hex(6)}"


def as_missing(answer: dict | str, real: dict[str, str], made_up: dict[str, str]) -> dict | str:
    """The answer with each real id written as its made-up one, the request's own id dropped."""
    if isinstance(answer, str):
        return answer
    out = {}
    for key, value in answer.items():
        if key == "request_id":
            continue
        for name, real_id in real.items():
            value = value.replace(real_id, made_up[name]) if isinstance(value, str) else value
        out[key] = value
    return out


@pytest.mark.parametrize(("method", "path"), sorted(ROUTES), ids=[f"{m} {p}" for m, p in sorted(ROUTES)])
async def test_another_merchants_or_teams_id_answers_as_a_missing_one(world: World, method: str, path: str):
    case = ROUTES[(method, path)]
    real = {param: world.ids[source] for param, source in case.ids.items()}
    made_up = {param: missing(value) for param, value in real.items()}
    wrong = []
    for who, (api, status) in world.callers(case.scope).items():
        got_status, got = await call(api, method, path.format(**real), case.body)
        miss_status, miss = await call(api, method, path.format(**made_up), case.body)
        code = "not_found" if status == 404 else "forbidden"
        if (got_status, miss_status) != (status, status) or not isinstance(got, dict) or got.get("code") != code \
                or as_missing(got, real, made_up) != as_missing(miss, made_up, made_up):
            wrong.append(f"{who}: {got_status} {got!r} (a missing id: {miss_status} {miss!r})")
    assert not wrong, f"{method} {path} with A's ids:\n" + "\n".join(wrong)
    assert await snapshot(world) == world.seen, f"{method} {path}: A's objects changed"


class SignedIn:
    """A dashboard session (test_hostile_dashboard's Browser, signed in) and its form token."""

    def __init__(self, browser: Browser, csrf: str) -> None:
        self.browser, self.csrf = browser, csrf

    @classmethod
    async def as_(cls, stack, key: str) -> SignedIn:
        browser = Browser(stack.base_url)
        await browser.sign_in(key)
        return cls(browser, (await browser.form("/", "/dashboard/logout"))[CSRF_FIELD])

    async def call(self, method: str, path: str, form: dict | None) -> tuple[int, str, list[str]]:
        """The answer's status, where it redirects, and what it says: the error page's words,
        or the flash messages of the page it redirects to."""
        http, path = self.browser.http, path.removeprefix(DASHBOARD)
        data = {CSRF_FIELD: self.csrf, IDEMPOTENCY_FIELD: secrets.token_hex(16), **(form or {})}
        r = await (http.post(path, data=data) if method == "POST" else http.get(path))
        location = r.headers.get("location", "")
        if r.status_code == 303:
            flashes = _FLASH.findall((await http.get(location.removeprefix(DASHBOARD))).text)
            return r.status_code, location, [f"{kind}: {html.unescape(text)}" for kind, text in flashes]
        said = _ERROR.search(r.text)
        return r.status_code, location, [html.unescape(said["words"])] if said else ["(a page)"]


_FLASH = re.compile(r'<p class="flash (\w+)" role="status">(.*?)</p>', re.S)
_ERROR = re.compile(r"<h1>(?P<words>.*?)</p>", re.S)  # the error page's heading and its detail


@pytest.fixture(scope="module")
async def browsers(stack, world: World) -> AsyncIterator[dict[Api, SignedIn]]:
    """A dashboard session for each caller, by its key."""
    made = {api: await SignedIn.as_(stack, api.key or "") for api in (world.b, world.c, world.team_b)}
    yield made
    for signed_in in made.values():
        await signed_in.browser.http.aclose()


def _written_as(value, real: dict[str, str], made_up: dict[str, str]):
    for name, real_id in real.items():
        value = value.replace(real_id, made_up[name])
    return value


@pytest.mark.parametrize(("method", "path", "n"), [(m, p, n) for (m, p), cases in sorted(DASHBOARD_ROUTES.items())
                                                   for n in range(len(cases))],
                         ids=[f"{m} {p} {c.fixed or ''}" for (m, p), cases in sorted(DASHBOARD_ROUTES.items())
                              for c in cases])
async def test_the_dashboard_answers_another_merchants_or_teams_id_as_a_missing_one(
        world: World, browsers: dict[Api, SignedIn], method: str, path: str, n: int):
    case = DASHBOARD_ROUTES[(method, path)][n]
    real = {param: world.ids[source] for param, source in case.ids.items()}
    made_up = {param: missing(value) for param, value in real.items()}
    wrong = []
    for who, (api, status) in world.callers(case.scope).items():
        if api is world.team_a:
            continue
        browser = browsers[api]
        got = await browser.call(method, path.format(**real, **case.fixed), case.body)
        miss = await browser.call(method, path.format(**made_up, **case.fixed), case.body)
        as_missing = (got[0], _written_as(got[1], real, made_up), [_written_as(s, real, made_up) for s in got[2]])
        if got[0] not in (status, 303) or as_missing != miss:
            wrong.append(f"{who}: {got} (a missing id: {miss})")
    assert not wrong, f"{method} {path} {case.fixed} with A's ids:\n" + "\n".join(wrong)
    assert await snapshot(world) == world.seen, f"{method} {path} {case.fixed}: A's objects changed"
