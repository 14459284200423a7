"""The payouts' HTTP face: the routes of /payouts and POST /verify-account, thin. Each
handler reads its request, calls one function of `lifecycle` and answers with the shapes
of `model`; it may import `lifecycle` and `model`, never `store` (the SQL is the
lifecycle's to call, inside the transaction it owns)."""
