"""POST /verify-account: a destination checked as POST /payouts would check it, with the
account title the bank would show. It lives with the payouts, whose destination rules it
applies; the directory it reads knows nothing of payouts."""

from __future__ import annotations

from litestar import Controller, Request, post
from litestar.params import JSONBody

from sandbox.auth.keys import MERCHANT_ONLY
from sandbox.idempotency.claims import READ_ONLY
from sandbox.payouts.lifecycle import verification
from sandbox.payouts.model.schemas import DestinationIn, VerifyAccountOut


class VerifyAccountController(Controller):
    path = "/"
    tags = ["Directory"]
    opt = MERCHANT_ONLY

    # It changes nothing: no idempotency key needed (one sent is ignored).
    @post("/verify-account", operation_id="verifyAccount", status_code=200, opt={READ_ONLY: True},
          summary="Check a destination and get its account title")
    async def verify(self, request: Request, data: JSONBody[DestinationIn]) -> VerifyAccountOut:
        """Takes any destination shape of `POST /payouts`. Deterministic: the same number
        always gets the same title. Numbers ending 0003 are closed accounts (`valid: false`,
        no title); numbers ending 0008 or 0012 have a title that does not match the
        beneficiary (`valid: false`, the bank's title, reason `incorrect_account_holder_name`).
        A suffix of one of your own scenarios answers as its first failure says."""
        valid, title, reason = await verification.verify(data, request.user.merchant_id,
                                                         request.user.custom_scenarios)
        return VerifyAccountOut(valid=valid, account_title=title, reason=reason)
