"""A lane's figures, printed as .ci/mutation prints the code's: killed of the non-equivalent
mutants, the survivors by name, the equivalents each with why; written where the lane's
script reads it (SANDBOX_MUTANT_REPORT), and returned for the test to assert on."""

from __future__ import annotations

import os
from pathlib import Path

GOAL = 99.0


def report(lane: str, killed: list[str], survived: list[str], equivalent: dict[str, str],
           survivor_words: dict[str, str] | None = None, killed_words: dict[str, str] | None = None) -> float:
    judged = len(killed) + len(survived)
    rate = 100.0 * len(killed) / judged if judged else 0.0
    lines = [f"{lane}: {len(killed)} of {judged} non-equivalent mutants killed ({rate:.1f} %), "
             f"{len(equivalent)} equivalent, goal {GOAL:.0f} %"]
    lines += [f"  SURVIVED {name}: {(survivor_words or {}).get(name, '')}" for name in survived]
    lines += [f"  equivalent {name}: {why}" for name, why in equivalent.items()]
    lines += [f"  killed {name}: {why}" for name, why in (killed_words or {}).items()]
    text = "\n".join(lines)
    print(text)
    if target := os.environ.get("SANDBOX_MUTANT_REPORT"):
        with Path(target).open("a") as out:
            out.write(text + "\n")
    return rate
