from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import JSONBody

from sandbox.core.auth import merchant_only
from sandbox.core.openapi_errors import reads, writes
from sandbox.directory import raast, service, verification
from sandbox.directory.schemas import BankOut, DirectoryOut, RaastOut, VerifyAccountOut, WalletOut
from sandbox.payouts.schemas import DestinationIn


class DirectoryController(Controller):
    path = "/"
    tags = ["Directory"]
    guards = [merchant_only]

    @get("/directory", operation_id="getDirectory", summary="Banks, wallets and Raast", responses=reads())
    async def directory(self) -> DirectoryOut:
        book = await service.get()
        return DirectoryOut(
            banks=[BankOut(**b) for b in book.banks],
            wallets=[WalletOut(**w) for w in book.wallets],
            raast=RaastOut(alias_format=raast.ALIAS_FORMAT, resolves_to="a bank account at one of the banks"),
        )

    @post("/verify-account", operation_id="verifyAccount", status_code=200,
          summary="Check a destination and get its account title", responses=writes())
    async def verify(self, data: JSONBody[DestinationIn]) -> VerifyAccountOut:
        """Takes any destination shape of `POST /payouts`. Deterministic: the same number
        always gets the same title; numbers ending 0003 are closed accounts."""
        valid, title, reason = await verification.verify(data)
        return VerifyAccountOut(valid=valid, account_title=title, reason=reason)
