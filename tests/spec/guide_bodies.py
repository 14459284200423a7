"""The JSON request bodies the README and the guides send with curl, each with the
operation it goes to (read from their bash blocks), so a typed client can be checked
against exactly what the guides tell a user to send."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from pytest_codeblocks import extract_from_file

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)(\w+)\1[^\n]*\n.*?\n\2\n", re.S)  # a file written by the block
_ENDS = set("|&;()\n")  # what a shell command ends at


@dataclass(frozen=True)
class GuideBody:
    where: str  # page:line
    operation_id: str
    body: object


def _uncommented(code: str) -> str:
    """The shell code without its comments (a `#` that starts a word, outside quotes)."""
    out, quote, i = [], None, 0
    while i < len(code):
        char = code[i]
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or code[i - 1] in " \t\n"):
            i = code.find("\n", i)
            if i < 0:
                break
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _commands(code: str) -> list[list[str]]:
    """The block's commands as shell words (quotes kept together across lines)."""
    code = _uncommented(_HEREDOC.sub("\n", code)).replace("\\\n", " ")
    lexer = shlex.shlex(code, posix=True, punctuation_chars="|&;()\n")
    lexer.whitespace = " \t\r"
    lexer.wordchars += "$:{}[]@%+,!^"
    lexer.commenters = ""
    commands, words = [], []
    for word in lexer:
        if set(word) <= _ENDS:
            if words:
                commands.append(words)
            words = []
        else:
            words.append(word)
    return [*commands, words] if words else commands


def _operation(spec: dict, path: str, method: str) -> str | None:
    """The operation id of the spec's path template the guide's path (`$ID` for an id) fits."""
    for template, item in spec["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method in item:
            return item[method].get("operationId")
    return None


# The provider-state and message routes a Pact verifier calls (docs/contract-tests-with-pact.md).
PACT_PROTOCOL = "/api/v1/sandbox/pact/"


def guide_bodies(spec: dict) -> list[GuideBody]:
    found = []
    for page in PAGES:
        for block in extract_from_file(page):
            if block.syntax != "bash":
                continue
            for words in _commands(block.code):
                if "curl" not in words or not any(w in ("-d", "--data") for w in words):
                    continue
                at = next(i for i, w in enumerate(words) if w in ("-d", "--data"))
                url = next((w for w in words if w.startswith("$API/")), None)
                if url is None or "$" in words[at + 1]:
                    continue  # another server, or a body made by the script
                method = words[words.index("-X") + 1].lower() if "-X" in words else "post"
                path = "/api/v1/" + url.removeprefix("$API/").split("?")[0]
                if path.startswith(PACT_PROTOCOL):
                    continue  # Pact's verifier protocol: its shapes are Pact's, outside the API's spec
                operation_id = _operation(spec, path, method)
                assert operation_id, f"{page.name}:{block.lineno}: no operation for {method} {path}"
                found.append(GuideBody(f"{page.name}:{block.lineno}", operation_id, json.loads(words[at + 1])))
    return found


def typescript(bodies: list[GuideBody]) -> str:
    """Each body assigned to its operation's request type (excess properties and missing
    required ones are errors for a literal)."""
    lines = ['import type { operations } from "./schema";',
             "type JsonBody<Op extends keyof operations> =",
             '  NonNullable<operations[Op]["requestBody"]> extends { content: { "application/json": infer B } }',
             "    ? B : never;"]
    for i, body in enumerate(bodies):
        lines.append(f"// {body.where}")
        lines.append(f'export const body{i}: JsonBody<"{body.operation_id}"> = {json.dumps(body.body)};')
    return "\n".join(lines) + "\n"
