"""The HTTP client on the sandbox's API that every surface outside the server shares: the CLI
and its CI commands, the pytest plugin, the Testcontainers module, the MCP server."""
