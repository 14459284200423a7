"""`sandbox worker` as the cost bench counts it: the same worker, less its periodic jobs
(sweeps, prunes, settlements, statistics), which cost so much a second and nothing a
payout, and whose runs would land in a window by the clock, not by the work.

    python -m sandbox.bench.servers.counted_worker"""

from __future__ import annotations

from worker import main


def _without_periodic_jobs(build):
    def build_worker(*args, **kwargs):
        worker = build(*args, **kwargs)
        worker.cron_jobs = []
        return worker

    return build_worker


if __name__ == "__main__":
    main.build_worker = _without_periodic_jobs(main.build_worker)
    main.run()
