"""The reconciliation file of a settlement run: one line per ledger entry, then one
total per bucket (equal to the run's change of that bucket). Written with the csv
module; cells a spreadsheet would run as a formula are escaped."""

from __future__ import annotations

import csv
import io
import re

from sandbox.core.clock import iso
from sandbox.core.money import format_amount

HEADER = ["line_type", "seq", "transaction_id", "created_at", "kind", "collection_id", "reference",
          "description", "bucket", "amount", "currency"]
_FORMULA_START = ("=", "+", "-", "@")
_CONTROL_START = ("\t", "\r")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def escape(cell: object) -> str:
    """OWASP CSV injection: a cell starting with = + - @ (or tab, CR) gets a leading `'`.
    Spreadsheets skip leading spaces (NBSP and other Unicode blanks too) before reading a
    formula, so the check looks past them. Plain numbers (e.g. -100.00) are left as they
    are: they cannot be formulas."""
    text = "" if cell is None else str(cell)
    bare = text.lstrip()
    if text.startswith(_CONTROL_START) or (bare.startswith(_FORMULA_START) and not _NUMBER.fullmatch(bare)):
        return "'" + text
    return text


def render(run, entries) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    totals: dict[str, int] = {"available": 0, "pending": 0}
    for e in entries:
        totals[e["bucket"]] = totals.get(e["bucket"], 0) + e["amount"]
        writer.writerow([escape(v) for v in (
            "entry", e["seq"], e["transaction"], iso(e["created_at"]), e["kind"], e["collection_id"],
            e["reference"], e["description"], e["bucket"], format_amount(e["amount"]), "PKR")])
    for bucket, total in totals.items():
        writer.writerow(["total", "", "", iso(run["created_at"]), "", "", "", "", bucket, format_amount(total), "PKR"])
    return out.getvalue()
