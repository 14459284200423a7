"""A listener endpoint's stream (`sandbox listen`, docs/listening.md): the API's side of
the link that `delivery/listener_link.py` opens from an attempt. `stream.py` sends the
requests queued for the endpoint down the listener's server-sent events and keeps its
presence; `answers.py` passes the listener's answers on to the attempts waiting for them.
It may import `delivery` (the link's keys and shapes), `store` and `model`."""
