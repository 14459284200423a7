"""`sandbox bench`: placeholder entry point; the benchmark itself lands with issue 6."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", help="also write the figures as JSON to this file")


def main(args: argparse.Namespace) -> int:
    raise SystemExit("sandbox bench: not built yet")
