"""The scenarios page: the built-in table and, for a merchant, its own scenarios, made
and deleted through the service the API uses (`sandbox.scenarios.store`), so the page
refuses what POST /sandbox/scenarios refuses, with the same status and messages."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get, post
from litestar.params import Parameter, QueryParameter
from litestar.response import Redirect, Template

from sandbox.core.errors import ApiError
from sandbox.dashboard import forms, pages, scenario_form
from sandbox.dashboard import session as sessions
from sandbox.dashboard.pages import Me, page
from sandbox.dashboard.scenario_form import Values
from sandbox.dashboard.views import Viewer
from sandbox.payouts.model import scenarios
from sandbox.payouts.model.scenarios import Scenario
from sandbox.payouts.store import own_scenarios
from sandbox.scenarios import store

SCENARIOS = "/dashboard/scenarios"
Name = Annotated[str, Parameter(max_length=40)]


async def _own(viewer: Viewer) -> list[Scenario]:
    """The merchant's own, asked for every time: this page is where a new one must show."""
    return [] if viewer.is_admin else await own_scenarios.of_merchant(pages.merchant_only(viewer))


def _page(request: Request, viewer: Viewer, values: Values, own: list[Scenario], *,
          errors: list[str] | None = None, bad: frozenset[str] = frozenset(), status: int = 200,
          open_form: bool = False) -> Template:
    return page(request, "scenarios.html", viewer, status=status, table=scenarios.table(), own=own, values=values,
                errors=errors or [], bad=bad, open_form=open_form or bool(errors) or not own,
                statuses=scenario_form.STATUSES, codes=scenario_form.CODES, blank=scenario_form.Row(), path=SCENARIOS)


@get("/scenarios")
async def scenario_page(request: Request, viewer: Me,
                        start: Annotated[str | None, QueryParameter(name="from", max_length=40)] = None) -> Template:
    """`?from=<name>`: the form starts from that scenario's steps (built-in or the merchant's)."""
    table, own = scenarios.table(), await _own(viewer)
    source = table.named(start, own) if start else None
    # A new form starts from the default scenario's steps: a timeline that runs, to change.
    values = scenario_form.copy_of(source) if source else Values(
        steps=scenario_form.copy_of(table.by_name(table.default)).steps)
    return _page(request, viewer, values, own, open_form=source is not None)


@post("/scenarios")
async def create_scenario(request: Request, viewer: Me) -> Template | Redirect:
    merchant_id = pages.merchant_only(viewer)
    values = scenario_form.read(await request.form())
    # Read before: the request is one transaction (the form's idempotency key), which a
    # refused insert (a name taken) leaves able to run no further statement.
    own = await _own(viewer)
    try:
        made = await store.create(merchant_id, scenario_form.body(values))
    except (ApiError, forms.FormError) as exc:
        status = exc.status if isinstance(exc, ApiError) else 400
        # The rows a refused timeline names (`steps[1]`), to mark on the page.
        fields = exc.errors if isinstance(exc, ApiError) else []
        bad = frozenset(e.field.split(".")[0] for e in fields)
        return _page(request, viewer, values, own, errors=forms.messages_of(exc), bad=bad, status=status)
    picked = (f"or pay to an account number ending in {made.suffix}" if made.suffix
              else "it has no suffix, so only its name picks it")
    sessions.of(request).flash("ok", f"Scenario {made.name} made: pick it in New test payout ({picked})")
    # The form posts to …#new, so that a refused one shows at the form; a redirect without a
    # fragment of its own would keep that one, and the flash above would be out of sight.
    return Redirect(SCENARIOS + "#top", status_code=303)


@post("/scenarios/{name:str}/delete")
async def delete_scenario(request: Request, viewer: Me, name: Name) -> Redirect:
    merchant_id = pages.merchant_only(viewer)
    session = sessions.of(request)
    try:
        await store.delete(merchant_id, name)
        session.flash("ok", f"Scenario {name} deleted: new payouts can no longer pick it; the payouts already"
                            " on it keep following their own copy")
    except ApiError as exc:
        session.flash("error", "Could not delete: " + "; ".join(forms.messages_of(exc)))
    return Redirect(SCENARIOS, status_code=303)


route_handlers = [scenario_page, create_scenario, delete_scenario]
