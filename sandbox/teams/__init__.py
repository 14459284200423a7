"""Teams: who shares one sandbox. The operator's admin key makes team keys; a team key
does what the admin key does, for its own team's merchants only (`scope.py`: another
team's merchant answers 404 exactly like a missing one); each team has quotas
(`quotas.py`) and its usage in /metrics (`metrics.py`). It imports only the shared
connections, `core` and `auth`, so every domain may ask it whose a merchant is."""
