"""The spec of POST /payout-batches: a CSV file (multipart) or a JSON list of items."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType

from sandbox.batches.rows import COLUMNS
from sandbox.batches.schemas import MAX_ITEMS

_CSV = Schema(
    type=OpenAPIType.OBJECT,
    required=["file"],
    properties={"file": Schema(
        type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY,
        description=f"UTF-8 CSV; the first line names the columns ({', '.join(COLUMNS)}; amount and type are"
                    f" required), then one payout per line, at most {MAX_ITEMS:,} lines.",
    )},
)
_JSON = Schema(
    type=OpenAPIType.OBJECT,
    required=["items"],
    properties={"items": Schema(
        type=OpenAPIType.ARRAY, min_items=1, max_items=MAX_ITEMS,
        # Any object (openapi-typescript reads a bare `object` as an empty one): each is checked as it is read.
        items=Schema(type=OpenAPIType.OBJECT, additional_properties=True),
        description="Objects shaped like the body of POST /payouts; one that fails its checks becomes an"
                    " `invalid` item.",
    )},
)


@dataclass
class UploadOperation(Operation):
    def __post_init__(self) -> None:
        self.request_body = RequestBody(required=True, content={
            "multipart/form-data": OpenAPIMediaType(schema=_CSV),
            "application/json": OpenAPIMediaType(schema=_JSON),
        })
