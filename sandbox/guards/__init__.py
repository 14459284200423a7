"""Rules that keep a shared sandbox safe, each a pure function of its input with nothing of
the server under it (the standard library only): which network addresses a webhook may
reach (`addresses`), and how a secret is named where it is not handed out (`fingerprints`).
The settings read them (an allow-list that does not parse stops a process at its start),
and so do the command-line clients, which lean on nothing else of the server."""
