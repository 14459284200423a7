"""`sandbox mcp`: a Model Context Protocol server (the official `mcp` SDK) over the
sandbox's own API, for coding agents. Every tool is a call of the API through the typed
client the CLI uses (sandbox/client/answers.py), so it works against any sandbox, local
or remote, and no rule of the sandbox is written twice.

The SDK is the optional extra `mypay-sandbox[mcp]`: nothing outside this package imports
it, and this package is imported only by `sandbox mcp`."""
