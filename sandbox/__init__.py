"""MyPay Sandbox: a mock payment service provider for payouts."""

from sandbox.core import deferred

deferred.defer()
