"""A pytest plugin for the mutation lane only (`-p tests.mutation_hypothesis`, set in
pyproject.toml's [tool.mutmut]): Hypothesis draws the same examples for every mutant and
does not shrink a failure. A mutant is killed by the first failing example; shrinking it
to the smallest one, which a person reading a failure needs, costs the lane minutes per
mutant and tells mutmut nothing more (docs/mutation-testing.md)."""

from hypothesis import Phase, settings

settings.register_profile("mutation", derandomize=True, database=None, deadline=None,
                          phases=(Phase.explicit, Phase.generate))
settings.load_profile("mutation")
