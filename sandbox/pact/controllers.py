"""The two routes a Pact verifier calls: provider states and messages.

They sit outside the gate every merchant's request passes (auth by X-API-KEY, the
request log, rate limits, idempotency keys) because a verifier can send neither a
merchant's key nor an idempotency key to them:
- the admin key authorises them, sent as `X-Sandbox-Admin-Key`. A verifier adds a custom
  header to every request it makes, the interactions' own included; sent as X-API-KEY it
  would replace the merchant key a pact injects from its provider state. (A call by hand
  may send the admin key as X-API-KEY instead.)
- no idempotency key: each setup makes a fresh merchant, so a repeat makes another one
  and moves nobody's money twice; a teardown changes nothing.
Both take JSON only (a 415 problem otherwise), as every JSON route of the API does."""

from __future__ import annotations

from litestar import Request, Response, Router, post
from litestar.params import JSONBody

from sandbox.auth.keys import API_KEY_HEADER, authenticate
from sandbox.core import problem_answers
from sandbox.core.errors import Forbidden, Unauthenticated
from sandbox.idempotency.body import check_media_type
from sandbox.idempotency.paying import MAKES_A_PAYOUT
from sandbox.pact import messages, schemas, states
from sandbox.teams import scope as teams

ADMIN_KEY_HEADER = "x-sandbox-admin-key"


async def _admin_key(request: Request) -> str:
    key = request.headers.get(ADMIN_KEY_HEADER) or request.headers.get(API_KEY_HEADER)
    if not key:
        raise Unauthenticated("Send the sandbox's admin key in the X-Sandbox-Admin-Key header")
    principal = await authenticate(key)
    if principal.role != "admin":
        raise Forbidden("Provider states and messages need the admin key (X-Sandbox-Admin-Key)")
    states.MAKING_FOR.set(teams.home(principal))  # a team key's merchants are its team's
    return key


async def _json_only(request: Request) -> None:
    # Before the body is read (a before_request hook runs ahead of the handler's `data`).
    check_media_type(request.scope, accepts_files=False)


# Both make payouts (a state's, a message's), so both declare it; they take the admin key, so
# no merchant's request log holds them.
@post("/states", operation_id="pactProviderState", status_code=200, opt=MAKES_A_PAYOUT)
async def provider_state(request: Request, data: JSONBody[schemas.StateChange]) -> dict[str, str]:
    """Set up (or tear down, or check) a provider state; answers the values a pact injects."""
    return await states.change(data, await _admin_key(request))


def _refused(request: Request, exc: Exception) -> Response[bytes]:
    """Any refusal of the messages route (a bad key, a bad body, a message the sandbox
    never sends): the problem as everywhere, made undecodable for a verifier
    (messages.REFUSAL_HEADERS says why), unless it is the sandbox's own check asking."""
    answer = problem_answers.exception_handler(request, exc)
    if not request.scope.get("state", {}).get(_CHECKING):
        answer.headers.update(messages.REFUSAL_HEADERS)
    return answer


_CHECKING = "pact_message_check"


@post("/messages", operation_id="pactMessage", status_code=200, exception_handlers={Exception: _refused},
      opt=MAKES_A_PAYOUT)
async def message(request: Request, data: JSONBody[schemas.MessageRequest]) -> Response[bytes]:
    """The webhook a message interaction describes: its body, its headers as metadata."""
    request.scope.setdefault("state", {})[_CHECKING] = data.check
    await _admin_key(request)
    chosen, event_type = await messages.plan(data)
    if data.check:
        return Response(b"{}", media_type="application/json")
    body, headers = await messages.message(chosen, event_type)
    return Response(body, media_type="application/json",
                    headers={messages.METADATA_HEADER: messages.metadata_header(headers)})


def router(prefix: str) -> Router:
    # Tools for verifiers, outside the published API spec (as the dashboard is).
    return Router(path=prefix + "/sandbox/pact", route_handlers=[provider_state, message], include_in_schema=False,
                  tags=["Pact"], before_request=_json_only)
