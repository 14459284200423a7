"""The HTTP client on the sandbox's API that every surface outside the server shares: the CLI
and its CI commands, the pytest plugin, the Testcontainers module, the MCP server; and the
two commands that hold a stream open to the API, `sandbox listen` (`listener.py`) and
`sandbox logs tail` (`tail.py`), registered by `stream_commands.py`."""
