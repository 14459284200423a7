"""Which routes are writes that can pay: each says so where it is declared, in its `opt`
(`opt={PAYS: Pays.PAYOUT}`), the way a route names its role (sandbox/auth/keys.py), and
the retries verdict (sandbox/requests/verdict.py) reads that declaration, never a route's
name. A route can pay when it makes a payout or sends one to the rail again (takes it out
of `failed`); tests/verdicts/test_paying_routes.py derives that from what each route's
handler reaches and fails on a route that can pay and is not declared.

How it pays tells the verdict where its payouts are: the payout its answer or path names,
or the payouts of the batch it names (made or re-initiated later, by the worker)."""

from __future__ import annotations

from enum import StrEnum

from litestar import Litestar
from litestar.routes import HTTPRoute

PAYS = "pays"


class Pays(StrEnum):
    PAYOUT = "payout"  # makes the payout its answer names (POST /payouts)
    PAYOUT_AGAIN = "payout_again"  # sends the payout its path names to the rail again (reinitiate)
    BATCH = "batch"  # makes the payouts of the batch it uploads (the worker makes them)
    BATCH_AGAIN = "batch_again"  # sends the batch's failed payouts to the rail again (the worker does)


MAKES_A_PAYOUT = {PAYS: Pays.PAYOUT}
SENDS_A_PAYOUT_AGAIN = {PAYS: Pays.PAYOUT_AGAIN}
MAKES_A_BATCH = {PAYS: Pays.BATCH}
SENDS_A_BATCH_AGAIN = {PAYS: Pays.BATCH_AGAIN}

Declared = dict[tuple[str, str], Pays]  # (method, route as the request log has it) → how it pays
DECLARED: Declared = {}
"""The app's paying routes, filled by `learn` when the app is made."""


def of_app(app: Litestar) -> Declared:
    """Every route of `app` that declares it can pay, by method and route template (what
    the request log stores as `route`)."""
    return {(method, route.path_format): Pays(handler.opt[PAYS])
            for route in app.routes if isinstance(route, HTTPRoute)
            for handler in route.route_handlers if handler.opt.get(PAYS)
            for method in handler.http_methods}


def learn(app: Litestar) -> None:
    DECLARED.clear()
    DECLARED.update(of_app(app))
