"""What runs, said to whoever looks: each process's title in `ps` (`titles`, set by the
runtime as each process starts), the list of its processes that `sandbox up` keeps in its
data dir (`registry`), and `sandbox status`, which reads both with the worker's heartbeat,
the queue and /ready (`status`). It imports `sandbox.settings` and the heartbeat's key
(`sandbox.health.heartbeat`); the runtime imports it, never the other way round."""
