"""Piccolo configuration. The DSN is filled in at start-up by `sandbox.db.configure`,
because the embedded server's address is only known once it runs."""

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine


class _Engine(PostgresEngine):
    async def check_version(self) -> None:
        """Piccolo asks the server's version when the engine is made, before there is a DSN:
        it would connect to the OS user's default server and warn about whatever answered."""


DB = _Engine(config={})

APP_REGISTRY = AppRegistry(apps=["sandbox.piccolo_app"])
