"""Piccolo configuration. The DSN is filled in at start-up by `sandbox.db.configure`,
because the embedded server's address is only known once it runs."""

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine

DB = PostgresEngine(config={})

APP_REGISTRY = AppRegistry(apps=["sandbox.piccolo_app"])
