"""Rate limits per API key, shared in Redis: the sliding-window limiter the request gate
asks, and the admin routes that set a merchant's override."""
