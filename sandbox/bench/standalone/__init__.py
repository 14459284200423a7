"""Benchmarks run on their own, each `uv run python -m sandbox.bench.standalone.<name>`:
a big batch through real processes (`batch`), a test clock's advance (`clock`), the
one-round-trip enqueue against arq's (`enqueue`) and the worker's pace (`worker`). They
may import `harness` only."""
