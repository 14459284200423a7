"""The teams fixtures, for rolling team keys."""

from tests.teams.conftest import make_team  # noqa: F401  (a fixture)
