"""The verdict written three ways: words for the CI log, JUnit XML for the CI system's
test report (GitHub, GitLab and Jenkins read it: a `<testsuite>` per merchant, a
`<testcase>` per requirement, what fell short in the `<failure>`'s message), and JSON for
a script."""

from __future__ import annotations

import io
from pathlib import Path

import msgspec
from junitparser import Failure, JUnitXml, TestCase, TestSuite

from sandbox.verdicts.judge import Finding


class MerchantVerdict(msgspec.Struct):
    merchant_id: str
    findings: list[Finding]

    @property
    def held(self) -> bool:
        return all(f.held for f in self.findings)


class Verdict(msgspec.Struct):
    url: str
    merchants: list[MerchantVerdict]

    @property
    def held(self) -> bool:
        return all(m.held for m in self.merchants)


def words(verdict: Verdict) -> str:
    lines = []
    for merchant in verdict.merchants:
        lines.append(f"merchant {merchant.merchant_id}")
        for f in merchant.findings:
            lines.append(f"  {'held' if f.held else 'FELL SHORT'}  {f.requirement}: {f.said}")
            lines += [f"      {d}" for d in f.details] if not f.held else []
    held = sum(m.held for m in verdict.merchants)
    if verdict.held:
        lines.append(f"gate held: every requirement held for {held} merchant(s) at {verdict.url}")
    else:
        lines.append(f"gate FELL SHORT: {len(verdict.merchants) - held} of {len(verdict.merchants)} merchant(s) "
                     f"fell short of a requirement at {verdict.url}")
    return "\n".join(lines) + "\n"


def junit(verdict: Verdict) -> bytes:
    document = JUnitXml("sandbox gate")
    for merchant in verdict.merchants:
        suite = TestSuite(f"sandbox gate {merchant.merchant_id}")
        suite.add_property("merchant_id", merchant.merchant_id)
        suite.add_property("sandbox", verdict.url)
        cases = []
        for f in merchant.findings:
            case = TestCase(f.requirement, classname=f"sandbox_gate.{merchant.merchant_id}", time=0)
            if not f.held:  # before system-out: the order the JUnit schema gives
                failure = Failure(f"{f.requirement}: {f.said}", "sandbox_gate")
                failure.text = "\n".join([f.said, *f.details])
                case.result = [failure]
            case.system_out = "\n".join([f.said, *f.details])
            cases.append(case)
        suite.add_testcases(cases)
        document.add_testsuite(suite)
    document.update_statistics()
    out = io.BytesIO()
    document.write(out)
    return out.getvalue()


def as_json(verdict: Verdict) -> bytes:
    merchants = [{"merchant_id": m.merchant_id, "held": m.held, "findings": msgspec.to_builtins(m.findings)}
                 for m in verdict.merchants]
    return msgspec.json.format(msgspec.json.encode({"url": verdict.url, "held": verdict.held,
                                                    "merchants": merchants}), indent=2) + b"\n"


def write(path: str, content: bytes) -> None:
    Path(path).write_bytes(content)
