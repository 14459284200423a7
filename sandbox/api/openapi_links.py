"""OpenAPI links: how an id one operation returns feeds the operations that take it
(create a payout → get, cancel, reinitiate, simulate, approve…). Tools and readers follow
them, and schemathesis' stateful phase walks them (create, then act on what was created)."""

from __future__ import annotations

from litestar.openapi.spec import Link

# (operationId, status) of the response → {link name: (target operationId, path parameter, where the id is)}
LINKS: dict[tuple[str, str], dict[str, tuple[str, str, str]]] = {
    ("createPayout", "201"): {
        name: (op, "payout_id", "$response.body#/id")
        for name, op in (("GetPayout", "getPayout"), ("CancelPayout", "cancelPayout"),
                         ("ReinitiatePayout", "reinitiatePayout"), ("SimulateRailOutcome", "simulateRailOutcome"),
                         ("ApprovePayout", "adminApprovePayout"), ("RejectPayout", "adminRejectPayout"),
                         ("ReleasePayout", "adminReleasePayout"))
    },
    ("createPayoutBatch", "202"): {
        name: (op, "batch_id", "$response.body#/id")
        for name, op in (("GetPayoutBatch", "getPayoutBatch"), ("ListPayoutBatchItems", "listPayoutBatchItems"),
                         ("RetryPayoutBatch", "retryPayoutBatch"))
    },
    ("createWebhookEndpoint", "201"): {
        name: (op, "endpoint_id", "$response.body#/id")
        for name, op in (("GetWebhookEndpoint", "getWebhookEndpoint"),
                         ("UpdateWebhookEndpoint", "updateWebhookEndpoint"),
                         ("RotateWebhookSecret", "rotateWebhookSecret"),
                         ("DeleteWebhookEndpoint", "deleteWebhookEndpoint"))
    },
    ("createCollection", "201"): {"GetCollection": ("getCollection", "collection_id", "$response.body#/id")},
    ("createSandboxMerchant", "201"): {
        name: (op, "merchant_id", "$response.body#/merchant/id")
        for name, op in (("GetRateLimit", "adminGetRateLimit"), ("SetRateLimit", "adminSetRateLimit"),
                         ("ResetRateLimit", "adminResetRateLimit"))
    },
}


def add_links(schema) -> None:
    operations = {
        op.operation_id: op
        for item in (schema.paths or {}).values()
        for op in (getattr(item, m, None) for m in ("get", "post", "put", "patch", "delete"))
        if op is not None
    }
    for (source, status), links in LINKS.items():
        response = operations[source].responses[status]
        response.links = {
            name: Link(operation_id=target, parameters={param: expression},
                       description=f"{target} with this response's `{expression.rsplit('#', 1)[1]}` as `{param}`")
            for name, (target, param, expression) in links.items()
            if target in operations  # KeyError above: a source renamed; here: a target gone
        }
