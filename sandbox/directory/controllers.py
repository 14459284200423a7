from __future__ import annotations

from litestar import Controller, get

from sandbox.auth.keys import MERCHANT_ONLY
from sandbox.directory import raast, service
from sandbox.directory.schemas import BankOut, DirectoryOut, RaastOut, WalletOut


class DirectoryController(Controller):
    path = "/"
    tags = ["Directory"]
    opt = MERCHANT_ONLY

    @get("/directory", operation_id="getDirectory", summary="Banks, wallets and Raast")
    async def directory(self) -> DirectoryOut:
        book = await service.get()
        return DirectoryOut(
            banks=[BankOut(**b) for b in book.banks],
            wallets=[WalletOut(**w) for w in book.wallets],
            raast=RaastOut(alias_format=raast.ALIAS_FORMAT, resolves_to="a bank account at one of the banks"),
        )
