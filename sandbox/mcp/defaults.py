"""The MCP server's limits by default, importable without the SDK: `sandbox mcp --help`
(sandbox/mcp/command.py) prints them, and the parts that hold them (sandbox/mcp/fairness/shares.py)
start from them."""

MOST_SESSIONS = 1000  # handshake sessions the HTTP server holds at once, by default (sandbox/mcp/fairness/shares.py)
