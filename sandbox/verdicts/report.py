"""The verdict (POST /sandbox/gate's answer) written for people and CI systems: words for
the CI log, and JUnit XML for the CI system's test report (GitHub, GitLab and Jenkins read
it: a `<testsuite>` per merchant, a `<testcase>` per requirement, what fell short in the
`<failure>`'s message). The API answers the same JUnit with `Accept: application/xml`, and
`sandbox gate` writes it from the API's JSON with this same function: one document.

Text that came over the wire (ids, reasons) is shown escaped: a control character (ESC
drives a terminal) appears as `\\x1b`, and XML 1.0 forbids most of them even as
character references, so an unescaped one would make the report unreadable."""

from __future__ import annotations

import io
import re

from junitparser import Error, Failure, JUnitXml, TestCase, TestSuite

from sandbox.observability.logs import escape_controls
from sandbox.verdicts.schemas import GateRequirement, GateVerdict

MEDIA_TYPE = "application/xml"
HELD_HEADER = "Sandbox-Gate-Held"
TOGETHER = "together"
# What XML 1.0 cannot hold at all, besides the control characters: surrogates and U+FFFE/FFFF.
_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")


def shown(text: str) -> str:
    """`text` safe for a terminal and for XML: each control character written as an
    escape (\\x1b, \\n), and what XML cannot carry as \\uXXXX."""
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", escape_controls(text))


def _subjects(verdict: GateVerdict) -> list[tuple[str, bool, list[GateRequirement]]]:
    """(who, held, requirements) for each merchant judged, or once for merchants judged as one."""
    if verdict.together is not None:
        t = verdict.together
        return [(f"{TOGETHER} ({', '.join(t.merchant_ids)})", t.held, t.requirements)]
    return [(m.merchant_id, m.held, m.requirements) for m in verdict.merchants]


def _said(r: GateRequirement) -> str:
    return f"{r.name.replace('_', ' ')}: {shown(r.reason)}"


def words(verdict: GateVerdict, url: str) -> str:
    lines = []
    subjects = _subjects(verdict)
    for who, _, requirements in subjects:
        lines.append(f"merchant {shown(who)}")
        for r in requirements:
            lines.append(f"  {'held' if r.held else 'FELL SHORT'}  {_said(r)}")
            lines += [f"      {shown(d)}" for d in r.details] if not r.held else []
    held = sum(h for _, h, _ in subjects)
    if verdict.held:
        lines.append(f"gate held: every requirement held for {held} merchant(s) at {shown(url)}")
    else:
        lines.append(f"gate FELL SHORT: {len(subjects) - held} of {len(subjects)} merchant(s) "
                     f"fell short of a requirement at {shown(url)}")
    return "\n".join(lines) + "\n"


def junit(verdict: GateVerdict) -> bytes:
    document = JUnitXml("sandbox gate")
    for who, _, requirements in _subjects(verdict):
        who = shown(who)
        suite = TestSuite(f"sandbox gate {who}")
        suite.add_property("merchant_id", who)
        cases = []
        for r in requirements:
            text = "\n".join(shown(line) for line in [r.reason, *r.details])
            case = TestCase(r.name, classname=f"sandbox_gate.{who}", time=0)
            if not r.held:  # before system-out: the order the JUnit schema gives
                failure = Failure(_said(r), "sandbox_gate")
                failure.text = text
                case.result = [failure]
            case.system_out = text
            cases.append(case)
        suite.add_testcases(cases)
        document.add_testsuite(suite)
    document.update_statistics()
    out = io.BytesIO()
    document.write(out)
    return out.getvalue()


def junit_error(said: str) -> bytes:
    """The JUnit of a gate that could not judge (a shape it does not model, a name it does
    not know): one testcase with an `<error>`, never a `<failure>`: a CI system shows the
    step broken, not the integration short of a requirement, and never a pass."""
    case = TestCase("gate", classname="sandbox_gate", time=0)
    error = Error(shown(said), "sandbox_gate.could_not_judge")
    error.text = shown(said)
    case.result = [error]
    suite = TestSuite("sandbox gate")
    suite.add_testcase(case)
    document = JUnitXml("sandbox gate")
    document.add_testsuite(suite)
    document.update_statistics()
    out = io.BytesIO()
    document.write(out)
    return out.getvalue()
