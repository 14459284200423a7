"""Each HTTP client's fair share of `sandbox mcp --http`: who a client is (`peers`), its
share of the sessions (`shares`), its cap on requests in flight (`inflight`) and its turns at
being served (`turns`)."""
