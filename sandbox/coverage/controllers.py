from __future__ import annotations

from litestar import Controller, Request, get

from sandbox.auth.keys import MERCHANT_ONLY
from sandbox.coverage import service
from sandbox.coverage.schemas import Coverage


class CoverageController(Controller):
    path = "/sandbox/coverage"
    tags = ["Sandbox tools"]

    @get("/", operation_id="getCoverage", opt=MERCHANT_ONLY,
         summary="What this merchant's integration has been tested against")
    async def coverage(self, request: Request) -> Coverage:
        """Scenarios whose end this merchant's payouts reached, event types its webhook
        endpoints acknowledged (2xx) or only failed, error codes its requests received,
        and the operator paths its payouts took (simulate, reinitiate, cancel, approve,
        reject, release)."""
        return await service.of_merchant(request.user.merchant_id)
