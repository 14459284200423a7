"""API keys: who is calling (a merchant or the admin), hashed keys compared in constant time,
and a short per-process cache of them."""
