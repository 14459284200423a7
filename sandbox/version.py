"""This installation's version, from its package metadata (pyproject.toml's `version`):
what `sandbox --version`, `GET /api/v1/health` and the image's label say."""

from __future__ import annotations

from importlib import metadata

DISTRIBUTION = "mypay-sandbox"


def of(distribution: str = DISTRIBUTION) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"
