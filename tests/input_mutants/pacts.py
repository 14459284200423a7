"""Pact mutants: from a pact that verifies, pacts the sandbox cannot satisfy. Each mutant is
one interaction of the source, alone in a file of its own, changed by one operator:

- another status; another value where the matching rule is equality (no rule); another
  type where it is `type`; a required field added to the body;
- another event type (a message's description and its `type` field); metadata the sandbox
  never sends (a message's) or a header it never sends (a response's);
- its provider state renamed, or swapped for another interaction's;
- moved to the other list (V3 `interactions` ↔ `messages`; V4 into a `messages` list);
- its type changed (V4); a message given a request;
- its request's method, path or a header changed (what the provider is asked);
- made `pending` (V4) and changed as above: pending is no verified;
- each matcher kind at a body path: every matcher made impossible (a regex nothing
  matches), `integer` read as `decimal` and back, an impossible matcher added to an `AND`;
  and, for an `OR` of several, its first alone made impossible (equivalent: the others
  still match, as Pact reads an `OR` whole);
- the pact's version: restated under `pactSpecificationVersion` (which the Pact core does
  not read), or as another version;
- every other key the closed-world schemas model (sandbox/pact/shapes.py) that no operator
  above changes, changed by its type (`changed`): so each modelled key has an operator,
  which tests/input_mutants/test_operators_cover_the_model.py holds, deriving what each
  operator touches from the mutants themselves.

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


IMPOSSIBLE = {"match": "regex", "regex": "^never-sent-by-the-sandbox$"}
# Another version, one whose shapes differ from the source's (V2 and V3 read an interaction
# with no matching rules alike, so V2's other is V4).
OTHER_VERSION = {"1.1": "4.0", "2": "4.0", "3": "4.0", "4": "3.0.0"}


def _body_rules(interaction: dict, kind: str, version: str) -> dict[str, Any] | None:
    """The body's rules as written (V3 and V4: `matchingRules.body`), to change in place."""
    if version not in ("3", "4"):
        return None
    holder = interaction.get("response", {}) if kind == "http" else interaction
    return (holder.get("matchingRules") or {}).get("body")


def _matcher_mutants(source: dict, kind: str, version: str, made) -> Iterator[tuple[str, dict]]:
    rules = _body_rules(source, kind, version) or {}
    for path, rule in rules.items():
        matchers = rule.get("matchers") if isinstance(rule, dict) else None
        if not matchers:
            continue
        combine = rule.get("combine", "AND")

        def rules_of(i) -> dict:
            return _body_rules(i, kind, version)  # type: ignore[return-value]

        yield f"every matcher at {path} made impossible ({combine})", made(
            lambda i, p=path: rules_of(i)[p].__setitem__("matchers", [dict(IMPOSSIBLE) for _ in rules_of(i)[p]
                                                                      ["matchers"]]))
        if combine == "AND":
            yield f"an impossible matcher added to the AND at {path}", made(
                lambda i, p=path: rules_of(i)[p]["matchers"].append(dict(IMPOSSIBLE)))
        elif len(matchers) > 1:
            yield f"the first matcher of the OR at {path} made impossible", made(
                lambda i, p=path: rules_of(i)[p]["matchers"].__setitem__(0, dict(IMPOSSIBLE)))
        for n, matcher in enumerate(matchers):
            other = {"integer": "decimal", "decimal": "integer"}.get(matcher.get("match"))
            if other is not None:
                yield f"{matcher['match']} read as {other} at {path}", made(
                    lambda i, p=path, n=n, o=other: rules_of(i)[p]["matchers"][n].__setitem__("match", o))


def modelled_keys() -> set[str]:
    """Every key the closed-world schemas model, over every version, as `where.key`: `pact`,
    `interaction`, `request`, `response`, `contents` (a V4 message's)."""
    from sandbox.pact.shapes import VERSIONS, _http, _message, _pact

    keys = set()
    for version in VERSIONS:
        keys |= {f"pact.{k}" for k in _pact(version)["properties"]}
        http = _http(version)["properties"]
        keys |= {f"interaction.{k}" for k in http}
        keys |= {f"request.{k}" for k in http["request"]["properties"]}
        keys |= {f"response.{k}" for k in http["response"]["properties"]}
        if version in ("3", "4"):
            message = _message(version)["properties"]
            keys |= {f"interaction.{k}" for k in message}
            keys |= {f"contents.{k}" for k in message["contents"].get("properties", {})}
    return keys


def touched(source: dict, mutant: dict) -> set[str]:
    """The modelled keys (as `modelled_keys` names them) a mutant pact changed from its source."""
    found = {f"pact.{k}" for k in set(source) | set(mutant) if k not in ("interactions", "messages")
             and source.get(k) != mutant.get(k)}
    [(listed_in, [interaction])] = [(k, mutant[k]) for k in ("interactions", "messages") if k in mutant]
    origin = next((i for k in ("interactions", "messages") for i in source.get(k) or []
                   if i.get("description") == interaction.get("description")), None)
    if origin is None:  # the interaction renamed (another event type): its description changed
        origin = next(i for k in ("interactions", "messages") for i in source.get(k) or [])
        found.add("interaction.description")
    if listed_in not in source or interaction not in source[listed_in]:
        found.add(f"pact.{listed_in}")
    for key in set(origin) | set(interaction):
        if origin.get(key) != interaction.get(key):
            found.add(f"interaction.{key}")
            if key in ("request", "response", "contents"):
                before, after = origin.get(key) or {}, interaction.get(key) or {}
                if isinstance(before, dict) and isinstance(after, dict):
                    found |= {f"{key}.{k}" for k in set(before) | set(after) if before.get(k) != after.get(k)}
    return found


def _changed(value: Any, key: str = "") -> Any:
    """Another value of the same kind: what a `changed` operator sets. A V4 body's content,
    not its wrapper; a generator's provider-state expression, where there is one (what the
    verifier then sends)."""
    if key == "body" and isinstance(value, dict) and "content" in value:
        return {**value, "content": _changed(value["content"])}
    if key == "generators" and isinstance(value, dict):
        for category in value.values():
            for generator in (category.values() if isinstance(category, dict) else ()):
                if isinstance(generator, dict) and "expression" in generator:
                    changed = copy.deepcopy(value)
                    _first_expression(changed)["expression"] += "-changed"
                    return changed
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 7
    if isinstance(value, str):
        return value + "-changed"
    if isinstance(value, dict):
        return {**value, "x-changed": "yes"}
    if isinstance(value, list):
        return [*value, copy.deepcopy(value[0]) if value else "x-changed"]
    return "changed"


# Keys `changed` sets on the interaction, its request, its response or a V4 message's
# contents, when no other operator changes them (the rest are changed by those above).
CHANGED_KEYS = {
    "interaction": ("key", "comments", "interactionMarkup", "pluginConfiguration", "transport", "providerState",
                    "generators", "matchingRules", "pending"),
    "request": ("query", "body", "matchingRules", "generators"),  # headers: `request header … changed`
    "response": ("generators", "matchingRules"),
    "contents": ("contentType", "encoded"),
}


def _first_expression(generators: dict) -> dict:
    return next(g for category in generators.values() if isinstance(category, dict) for g in category.values()
                if isinstance(g, dict) and "expression" in g)


# What `changed` sets where a source has no such key: a value the schema models.
ADDED: dict[str, Any] = {
    "key": "x-changed", "comments": {"text": ["x-changed"]}, "interactionMarkup": {"markup": "x", "markupType":
                                                                                   "COMMON_MARK"},
    "pluginConfiguration": {"x-changed": {}}, "transport": "grpc", "generators": {"body": {"$.x": {
        "type": "RandomString"}}}, "query": {"x-changed": ["yes"]},
}


def _changed_mutants(source: dict, kind: str, version: str, made) -> Iterator[tuple[str, dict]]:
    allowed = {"interaction": set(_interaction_keys(kind, version))}
    for where, keys in CHANGED_KEYS.items():
        holder = source if where == "interaction" else source.get(where)
        if not isinstance(holder, dict):
            continue
        for key in keys:
            if where == "interaction" and key not in allowed["interaction"]:
                continue  # not a key of this kind and version: refused as such by `type changed` & co.
            if key not in holder and key not in ADDED:
                continue

            def change(i, where=where, key=key):
                target = i if where == "interaction" else i[where]
                target[key] = _changed(target[key], key) if key in target else copy.deepcopy(ADDED[key])
            yield f"{where}.{key} {'changed' if key in holder else 'added'}", made(change)
    for party in ("consumer", "provider"):
        yield f"pact.{party} changed", made(lambda i: None, **{party: {"name": "x-changed"}})


def _interaction_keys(kind: str, version: str) -> list[str]:
    from sandbox.pact.shapes import _http, _message

    return list((_http(version) if kind == "http" else _message(version))["properties"])


def interaction_mutants(pact: dict, listed_in: str, place: int, others: list[dict]) -> Iterator[tuple[str, dict]]:
    version = version_of(pact) or "3"
    source = pact[listed_in][place]
    kind = _kind(source, listed_in, version)
    alone = {k: v for k, v in pact.items() if k not in ("interactions", "messages")}

    def made(change, key: str = listed_in, metadata: Any = None, **parties: dict) -> dict:
        interaction = copy.deepcopy(source)
        change(interaction)
        return {**copy.deepcopy(alone), key: [interaction], **({"metadata": metadata} if metadata is not None else {}),
                **parties}

    stated = ((pact.get("metadata") or {}).get("pactSpecification") or {}).get("version")
    yield "version restated as pactSpecificationVersion", made(lambda i: None, metadata={
        "pactSpecificationVersion": stated})
    yield f"version stated as {OTHER_VERSION[version]}", made(lambda i: None, metadata={
        "pactSpecification": {"version": OTHER_VERSION[version]}})
    if kind == "http":
        yield "another status", made(lambda i: i["response"].__setitem__(
            "status", 418 if i["response"].get("status") != 418 else 419))
        yield "another method", made(lambda i: i["request"].__setitem__(
            "method", "DELETE" if i["request"]["method"] != "DELETE" else "PUT"))
        def another_path(i):
            i["request"]["path"] += "/never"
            generated = (i["request"].get("generators") or {}).get("path")
            if isinstance(generated, dict) and "expression" in generated:  # the path sent is the generator's
                generated["expression"] += "/never"
        yield "another path", made(another_path)
        for header in list(source["request"].get("headers") or {})[:1]:
            def header_changed(i, h=header):
                i["request"]["headers"][h] = ["changed"] if version == "4" else "changed"
                for where in ("generators", "matchingRules"):  # what would put the real value back
                    (i["request"].get(where) or {}).get("header", {}).pop(h, None)
            yield f"request header {header} changed", made(header_changed)
        if version == "4":
            yield "made pending, another status", made(lambda i: (i.__setitem__("pending", True), i["response"]
                                                                   .__setitem__("status", 418)))
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
        if version == "4":
            yield "made pending, metadata never sent", made(lambda i: (i.__setitem__("pending", True), i.setdefault(
                "metadata", {}).__setitem__("x-never-sent", "yes")))
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
    yield from _matcher_mutants(source, kind, version, made)
    yield from _changed_mutants(source, kind, version, made)
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
