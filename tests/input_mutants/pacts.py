"""Pact mutants: from a pact that verifies, pacts the sandbox cannot satisfy. Each mutant is
one interaction of the source, alone in a file of its own, changed by one operator:

- another status; another value where the matching rule is equality (no rule); another
  type where it is `type`; a required field added to the body;
- another event type (a message's description and its `type` field); metadata the sandbox
  never sends (a message's) or a header it never sends (a response's);
- its provider state renamed, or swapped for another interaction's;
- moved to the other list (V3 `interactions` ↔ `messages`; V4 into a `messages` list);
- its type changed (V4); a message given a request.

`sandbox pact verify` must end each one exit 1 or 2, its interaction never `verified`."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

from sandbox.pact.shapes import version_of

PER_KIND = 3  # value mutants of each kind per interaction: enough to see a rule ignored
OTHER_EVENT = {"payout.failed": "payout.returned", "payout.success": "payout.failed", "payout.returned":
               "payout.success", "payout.created": "payout.on_hold", "payout.processing": "payout.on_hold"}


def _kind(interaction: dict, listed_in: str, version: str) -> str:
    if version == "4":
        return "message" if interaction.get("type") == "Asynchronous/Messages" else "http"
    return "message" if listed_in == "messages" else "http"


def _body(interaction: dict, kind: str, version: str) -> tuple[Any, dict, str] | None:
    """The JSON the provider must answer (its container, the key in it) and the rules' prefix."""
    if kind == "http":
        response = interaction.get("response") or {}
        if "body" not in response:
            return None
        body = response["body"]
        if version == "4" and isinstance(body, dict) and "content" in body:
            return body["content"], body, "content"
        return body, response, "body"
    contents = interaction.get("contents")
    if version == "4" and isinstance(contents, dict) and "content" in contents:
        return contents["content"], contents, "content"
    return contents, interaction, "contents"


def _rules(interaction: dict, kind: str, version: str) -> dict[str, Any]:
    """Body matching rules by JSON path (`$.a.b`), whatever the version writes them as."""
    holder = interaction.get("response", {}) if kind == "http" else interaction
    rules = holder.get("matchingRules") or {}
    if version == "2":
        return {"$" + k.removeprefix("$.body"): v for k, v in rules.items() if k.startswith("$.body")}
    return rules.get("body") or {}


def _matcher(rules: dict[str, Any], path: str) -> str | None:
    """The match rule that governs `path`: its own, else the nearest parent's (Pact's type
    matching cascades); None: equality."""
    while True:
        rule = rules.get(path)
        if rule is not None:
            matchers = rule.get("matchers") if isinstance(rule, dict) else None
            first = matchers[0] if matchers else rule
            return first.get("match") if isinstance(first, dict) else "type"
        if path == "$":
            return None
        path = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", path) or "$"


def _leaves(value: Any, path: str = "$") -> Iterator[tuple[str, list, Any]]:
    """Each leaf's JSON path and where it sits (a list of keys from the root)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            for found in _leaves(inner, f"{path}.{key}"):
                yield found[0], [key, *found[1]], found[2]
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            for found in _leaves(inner, f"{path}[{i}]"):
                yield found[0], [i, *found[1]], found[2]
    else:
        yield path, [], value


def _set(root: Any, keys: list, value: Any) -> None:
    for key in keys[:-1]:
        root = root[key]
    root[keys[-1]] = value


def _other_value(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 7
    if value is None:
        return "not null"
    return f"{value}-not-this"


def _other_type(value: Any) -> Any:
    return 12345 if isinstance(value, str) else "a string now"


def interaction_mutants(pact: dict, listed_in: str, place: int, others: list[dict]) -> Iterator[tuple[str, dict]]:
    version = version_of(pact) or "3"
    source = pact[listed_in][place]
    kind = _kind(source, listed_in, version)
    alone = {k: v for k, v in pact.items() if k not in ("interactions", "messages")}

    def made(change, key: str = listed_in) -> dict:
        interaction = copy.deepcopy(source)
        change(interaction)
        return {**copy.deepcopy(alone), key: [interaction]}

    if kind == "http":
        yield "another status", made(lambda i: i["response"].__setitem__(
            "status", 418 if i["response"].get("status") != 418 else 419))
        yield "a header never sent", made(lambda i: i["response"].setdefault("headers", {}).__setitem__(
            "X-Never-Sent", ["yes"] if version == "4" else "yes"))
    else:
        for event, other in OTHER_EVENT.items():
            if event in source["description"]:
                def another_event(i, event=event, other=other):
                    i["description"] = i["description"].replace(event, other)
                    found = _body(i, kind, version)
                    if found and isinstance(found[0], dict) and found[0].get("type") == event:
                        found[0]["type"] = other
                yield "another event type", made(another_event)
                break
        yield "metadata never sent", made(lambda i: i.setdefault("metadata", {}).__setitem__("x-never-sent", "yes"))
        yield "a message given a request", made(lambda i: i.__setitem__(
            "request", {"method": "GET", "path": "/api/v1/ready"}))
    found = _body(source, kind, version)
    if found is not None and found[0] is not None:
        rules = _rules(source, kind, version)
        equality, typed = [], []
        for path, keys, value in _leaves(found[0]):
            rule = _matcher(rules, path)
            if rule is None and keys:
                equality.append((path, keys, value))
            elif rule == "type" and keys:
                typed.append((path, keys, value))
        for path, keys, value in equality[:PER_KIND]:
            yield f"another value at {path} (equality)", made(lambda i, k=keys, v=value: _set(
                _body(i, kind, version)[0], k, _other_value(v)))  # type: ignore[index]
        for path, keys, value in typed[:PER_KIND]:
            yield f"another type at {path} (type)", made(lambda i, k=keys, v=value: _set(
                _body(i, kind, version)[0], k, _other_type(v)))  # type: ignore[index]
        if isinstance(found[0], dict):
            yield "a required field added", made(lambda i: _body(i, kind, version)[0].__setitem__(  # type: ignore[index]
                "never_sent_by_the_sandbox", "x"))
    states = source.get("providerStates") or ([{"name": source["providerState"]}] if source.get("providerState")
                                              else [])
    if states:
        def renamed(i):
            if "providerStates" in i:
                i["providerStates"][0]["name"] += " renamed"
            else:
                i["providerState"] += " renamed"
        yield "state renamed", made(renamed)
        swap = next((o for o in others if (o.get("providerStates") or [{}])[0].get("name") != states[0]["name"]
                     and o.get("providerStates")), None)
        if swap is not None and "providerStates" in source:
            yield "states swapped", made(lambda i: i.__setitem__("providerStates", copy.deepcopy(
                swap["providerStates"])))
    if version == "4":
        yield "moved into a messages list", made(lambda i: None, "messages")
        for other in ("Synchronous/Messages", "Asynchronous/Messages" if kind == "http" else "Synchronous/HTTP"):
            yield f"type changed to {other}", made(lambda i, t=other: i.__setitem__("type", t))
    elif version == "3":
        yield "moved to the other list", made(lambda i: None, "messages" if listed_in == "interactions"
                                              else "interactions")


def mutants(pact: dict) -> Iterator[tuple[str, str, dict]]:
    """(interaction, operator, mutant pact) for every interaction of `pact`."""
    everyone = [i for k in ("interactions", "messages") for i in pact.get(k) or []]
    for listed_in in ("interactions", "messages"):
        for place, interaction in enumerate(pact.get(listed_in) or []):
            for operator, mutant in interaction_mutants(pact, listed_in, place, everyone):
                yield interaction["description"], operator, mutant


def alone(pact: dict) -> Iterator[tuple[str, dict]]:
    """Each interaction of `pact` in a file of its own, unchanged: the sources must verify."""
    rest = {k: v for k, v in pact.items() if k not in ("interactions", "messages")}
    for listed_in in ("interactions", "messages"):
        for interaction in pact.get(listed_in) or []:
            yield interaction["description"], {**copy.deepcopy(rest), listed_in: [copy.deepcopy(interaction)]}


def dumps(pact: dict) -> str:
    return json.dumps(pact, indent=1)
