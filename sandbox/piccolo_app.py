"""The one Piccolo app: every table of the sandbox and its committed migrations."""

import os

from piccolo.conf.apps import AppConfig

from sandbox.batches.tables import PayoutBatch, PayoutBatchItem
from sandbox.directory.tables import Bank, Wallet
from sandbox.idempotency.tables import IdempotencyKey
from sandbox.ledger.tables import Balance, LedgerEntry, LedgerTransaction
from sandbox.merchants.tables import ApiKey, Merchant
from sandbox.payouts.store.tables import Payout
from sandbox.rail.tables import IpnNotification
from sandbox.settlements.tables import Collection, Settlement
from sandbox.webhooks.store.tables import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint

APP_CONFIG = AppConfig(
    app_name="sandbox",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "migrations"),
    table_classes=[
        Merchant,
        ApiKey,
        Balance,
        LedgerTransaction,
        LedgerEntry,
        Payout,
        IdempotencyKey,
        OutboxEvent,
        WebhookEndpoint,
        WebhookDelivery,
        WebhookAttempt,
        Bank,
        Wallet,
        IpnNotification,
        PayoutBatch,
        PayoutBatchItem,
        Settlement,
        Collection,
    ],
)
