"""The API as one ASGI app: the Litestar app with every domain's routes (`app`), the one
layer every authenticated request passes (`gate`: the key, the request log and its
faults, the rate limit and the role, the idempotency key, in that order; each rule stays
in its own package), and the published OpenAPI document: its shape, names and examples
(`openapi_spec`), its links (`openapi_links`), the problems each route answers, derived
from the code (`openapi_errors`), written to openapi/ (`openapi_export`). It imports the
domains' controllers and the packages the gate orders; only the CLI, the bench and the
tests import it (uvicorn is handed its factory by name: `sandbox.api.app:...`)."""
