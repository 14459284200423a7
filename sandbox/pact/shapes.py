"""The pacts `sandbox pact verify` judges: a JSON Schema per Pact specification version
(1.1, 2, 3, 4) and per interaction type, closed where a key would change what the
interaction means. A pact of any other shape is refused before anything runs (exit 2, a
JUnit error, these words): the verifier would otherwise read it its own way (a V3 message
with a `request` read as a message with no contents, so any webhook matches; a V4
synchronous message, for which the sandbox has no channel, verified on its reply alone).

Modelled:
- HTTP interactions, in every version: a request (method, path, query, headers, body,
  V2+ matchingRules, V3+ generators) and a response (status, headers, body, the same);
- webhooks as asynchronous messages: a V3 pact's `messages`, a V4 `Asynchronous/Messages`
  interaction; contents, metadata, matchingRules, generators, and never a `request` or a
  `response` (a webhook is sent, nothing asks for it);
- at most one provider state per interaction (`STATE_RULE`).
Refused: V4 `Synchronous/Messages` (the sandbox has no request/reply message channel),
plugins (`pluginConfiguration` with anything in it), a V4 key in an older pact (`pending`,
`type`), a message in a V3 pact's `interactions` or an HTTP interaction in its `messages`,
messages in a V1.1 or V2 pact, a V3 `messages` list in a V4 pact, a version not stated."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

VERSIONS = ("1.1", "2", "3", "4")
STATE_RULE = ("at most one provider state per interaction: each state makes a merchant of its own, so the values "
              "two states inject (${apiKey} of one, ${payoutId} of the other) would belong to two merchants; "
              "'a payout' already injects merchantId and apiKey besides payoutId")
MODELLED = {
    "1.1": "HTTP interactions (description, providerState, request, response); no messages",
    "2": "HTTP interactions (description, providerState, request and response with matchingRules); no messages",
    "3": "HTTP interactions in `interactions` (description, providerStates or providerState, request, response) and "
         "webhooks as messages in `messages` (description, providerStates or providerState, contents, metadata, "
         "matchingRules, generators)",
    "4": "`Synchronous/HTTP` interactions (request, response, transport) and webhooks as `Asynchronous/Messages` "
         "(contents, metadata, matchingRules, generators), each with type, description, providerStates or "
         "providerState, key, pending, comments, interactionMarkup",
}

_OBJECT: dict[str, Any] = {"type": "object"}
_STATE = {"type": "object", "required": ["name"], "additionalProperties": False,
          "properties": {"name": {"type": "string"}, "params": {"type": ["object", "null"]}}}
_STATES = {"type": "array", "items": _STATE, "maxItems": 1}
_NO_PLUGIN = {"type": "object", "maxProperties": 0}  # a plugin reads the interaction its own way


def _request(version: str) -> dict:
    props: dict[str, Any] = {"method": {"type": "string"}, "path": {"type": "string"},
                             "query": {"type": ["string", "object"]}, "headers": _OBJECT, "body": {}}
    if version != "1.1":
        props["matchingRules"] = _OBJECT
    if version in ("3", "4"):
        props["generators"] = _OBJECT
    return {"type": "object", "required": ["method", "path"], "additionalProperties": False, "properties": props}


def _response(version: str) -> dict:
    props = {k: v for k, v in _request(version)["properties"].items() if k not in ("method", "path", "query")}
    return {"type": "object", "additionalProperties": False,
            "properties": {"status": {"type": "integer", "minimum": 100, "maximum": 599}, **props}}


def _http(version: str) -> dict:
    props: dict[str, Any] = {"description": {"type": "string", "minLength": 1}, "request": _request(version),
                             "response": _response(version)}
    props["providerState"] = {"type": "string"}  # V2's; the verifier reads it in a V3 or V4 pact too
    if version not in ("1.1", "2"):
        props["providerStates"] = _STATES
    if version == "4":
        props |= {"type": {"const": "Synchronous/HTTP"}, "key": {"type": "string"}, "pending": {"type": "boolean"},
                  "comments": _OBJECT, "interactionMarkup": _OBJECT, "pluginConfiguration": _NO_PLUGIN,
                  "transport": {"const": "http"}}
    required = ["description", "request", "response", *(["type"] if version == "4" else [])]
    return {"type": "object", "required": required, "additionalProperties": False, "properties": props}


def _message(version: str) -> dict:
    props: dict[str, Any] = {"description": {"type": "string", "minLength": 1}, "providerStates": _STATES,
                             "providerState": {"type": "string"}, "metadata": _OBJECT, "matchingRules": _OBJECT,
                             "generators": _OBJECT}
    if version == "3":
        props["contents"] = {}
    else:
        props |= {"type": {"const": "Asynchronous/Messages"}, "key": {"type": "string"},
                  "pending": {"type": "boolean"}, "comments": _OBJECT, "interactionMarkup": _OBJECT,
                  "pluginConfiguration": _NO_PLUGIN,
                  "contents": {"type": "object", "additionalProperties": False, "properties": {
                      "contentType": {"type": "string"}, "encoded": {"type": ["boolean", "string"]}, "content": {}}}}
    return {"type": "object", "required": ["description", *(["type"] if version == "4" else [])],
            "additionalProperties": False, "properties": props}


def _pact(version: str) -> dict:
    party = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}
    props: dict[str, Any] = {"consumer": party, "provider": party, "metadata": _OBJECT}
    if version == "4":
        props["interactions"] = {"type": "array", "items": {"oneOf": [_http("4"), _message("4")]}}
    else:
        props["interactions"] = {"type": "array", "items": _http(version)}
    if version == "3":
        props["messages"] = {"type": "array", "items": _message("3")}
    schema = {"type": "object", "required": ["consumer", "provider"], "properties": props}
    if version != "3":  # a list the verifier reads that this version does not have: it would verify, or skip it
        schema["not"] = {"required": ["messages"]}
    return schema


SCHEMAS = {version: _pact(version) for version in VERSIONS}


@cache
def _validator(schema_of: str, version: str):
    # jsonschema comes with the [pact] extra: imported only when a pact is judged.
    from jsonschema import Draft202012Validator

    schema = {"pact": _pact, "http": _http, "message": _message}[schema_of](version)
    return Draft202012Validator(schema)


# How the Pact core (pact_ffi's pact_models: `parse_meta_data`, `determine_spec_version`)
# reads a pact's version, which this module must read the same way: from
# metadata.pactSpecification.version, `pact-specification` being another spelling of that
# key (renamed to it as the metadata is read, so with both the one read last wins); a
# value that is not an object, or one with no `version`, is read as V3; a version that is
# not a string is read as its JSON text (4 as "4"), and any string leniently (lenient_semver:
# "v4", " 4.0 ", "4-rc"). `pactSpecificationVersion`, which older pact-js and pact-ruby
# tools wrote, is not read at all. A statement the two could read apart is refused here
# (`_version_refusal`), so that what is judged is the version the verifier runs.
_SPELLINGS = ("pactSpecification", "pact-specification")
_PLAIN = re.compile(r"[0-9]+(?:\.[0-9]+){0,2}")  # "4", "4.0", "4.0.0": read alike by both
_NO_VERSION = ("the pact states no specification version the sandbox models (metadata.pactSpecification.version; "
               f"modelled: {', '.join(VERSIONS)})")


def _read(pact: dict) -> tuple[str | None, str | None]:
    """(the version the Pact core reads, as one of VERSIONS, or None; why the pact is
    refused for what its metadata says of its version, or None)."""
    meta = pact.get("metadata")
    if meta is None:
        return None, _NO_VERSION
    if not isinstance(meta, dict):
        return None, "metadata is not an object: the Pact core reads such a pact as V3 whatever it says; " + _NO_VERSION
    spelled = [key for key in _SPELLINGS if key in meta]
    if len(spelled) == 2 and meta[spelled[0]] != meta[spelled[1]]:
        return None, ("metadata has both pactSpecification and pact-specification, saying different things: the "
                      "Pact core reads them as one key and keeps whichever it reads last; write pactSpecification only")
    said = meta[spelled[0]] if spelled else None
    stated = isinstance(said, dict) and "version" in said  # a null version is stated: read as "null"
    version = said.get("version") if isinstance(said, dict) else None
    other = meta.get("pactSpecificationVersion")
    if not stated and other is not None:
        return None, (f"metadata.pactSpecificationVersion {other!r}: the Pact core does not read this key (it reads "
                      "metadata.pactSpecification.version) and would verify the pact as V3; write "
                      f'"pactSpecification": {{"version": {other if isinstance(other, str) else "…"!r}}} instead')
    if said is not None and not isinstance(said, dict):
        return None, (f"metadata.{spelled[0]} is {type(said).__name__}, not an object with a version: the Pact core "
                      "reads such a pact as V3; " + _NO_VERSION)
    if not stated:
        return None, _NO_VERSION
    if not isinstance(version, str):
        return None, (f"metadata.{spelled[0]}.version {version!r} is not a string: the Pact core reads its JSON text "
                      'leniently; write it as a string of numbers and dots, e.g. "4.0"')
    if not _PLAIN.fullmatch(version):
        return None, (f"metadata.{spelled[0]}.version {version!r}: not numbers and dots (e.g. \"4.0\", \"3.0.0\"); "
                      "the Pact core parses other spellings leniently, its own way")
    major = version.split(".", 1)[0].lstrip("0") or "0"
    read = "1.1" if major == "1" else major if major in VERSIONS else None
    if read is None:
        return None, _NO_VERSION
    if other is not None and (not isinstance(other, str) or not _PLAIN.fullmatch(other)
                              or (other.split(".", 1)[0].lstrip("0") or "0") != major):
        return None, (f"metadata.pactSpecificationVersion {other!r} says another version than "
                      f"metadata.{spelled[0]}.version {version!r}, the one the Pact core reads; write one")
    return read, None


def version_of(pact: dict) -> str | None:
    """The specification version the Pact core reads the pact as, as one of VERSIONS; None
    when it is not one of them, or when the pact's metadata could be read otherwise."""
    return _read(pact)[0]


def _where(pact: dict, path: list) -> str:
    if len(path) >= 2 and path[0] in ("interactions", "messages") and isinstance(path[1], int):
        entry = pact[path[0]][path[1]]
        description = entry.get("description") if isinstance(entry, dict) else None
        rest = ".".join(map(str, path[2:]))
        return f"{path[0]}[{path[1]}] ({description!r}){': ' + rest if rest else ''}"
    return ".".join(map(str, path)) or "the pact"


def _said(entry: Any, version: str, listed_in: str) -> str | None:
    """The shapes refused most often, in words of their own."""
    if not isinstance(entry, dict):
        return None
    kind = entry.get("type")
    if kind == "Synchronous/Messages":
        return ("a synchronous (request/reply) message: the sandbox has no request/reply message channel, only "
                "webhooks it sends; write the request as a Synchronous/HTTP interaction, the webhook as an "
                "Asynchronous/Messages one")
    message = (version == "3" and listed_in == "messages") or kind == "Asynchronous/Messages"
    if message and ("request" in entry or "response" in entry):
        return ("a message with a `request` or a `response`: a webhook is sent, nothing asks for it, and the "
                "verifier would read this one as a message with no contents (so any webhook would match); an "
                "HTTP interaction goes in `interactions`" + (" with type Synchronous/HTTP" if version == "4" else ""))
    if version == "3" and listed_in == "interactions" and "request" not in entry:
        return "no `request` in a V3 pact's `interactions`: a message (a webhook) goes in its `messages` list"
    if "providerState" in entry and "providerStates" in entry:
        return "both `providerState` and `providerStates`: the verifier reads one and ignores the other; keep one"
    states = entry.get("providerStates")
    if isinstance(states, list) and len(states) > 1:
        names = ", ".join(repr(s.get("name")) if isinstance(s, dict) else repr(s) for s in states)
        return f"{len(states)} provider states ({names}); the rule: {STATE_RULE}"
    if version != "4" and "pending" in entry:
        return f"`pending` is a V4 key: a V{version} verifier ignores it, so the interaction would not be pending"
    return None


def refusal(pact: dict) -> str | None:
    """Why the pact's shape is not one the sandbox judges, in words naming the shape and
    what is modelled; None when it is modelled."""
    version, refused = _read(pact)
    if version is None:
        return refused
    for listed_in in ("interactions", "messages"):
        entries = pact.get(listed_in)
        for place, entry in enumerate(entries if isinstance(entries, list) else []):
            if said := _said(entry, version, listed_in):
                return f"{_where(pact, [listed_in, place])}: {said}. Modelled in a V{version} pact: {MODELLED[version]}"
    errors = sorted(_validator("pact", version).iter_errors(pact), key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    error = errors[0]
    path = list(error.absolute_path)
    if error.validator == "oneOf":  # a V4 interaction neither HTTP nor an async message: say which key is off
        entry = error.instance
        kind = entry.get("type") if isinstance(entry, dict) else None
        chosen = _validator("message" if kind == "Asynchronous/Messages" else "http", "4")
        inner = min(chosen.iter_errors(entry), key=lambda e: len(e.absolute_path),
                    default=None)
        if inner is not None:
            error, path = inner, path + list(inner.absolute_path)
    return f"{_where(pact, path)}: {_words(error)}. Modelled in a V{version} pact: {MODELLED[version]}"


def _words(error) -> str:
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        return f"{error.message}; the keys modelled here: {', '.join(allowed)}"
    if error.validator == "not":
        return "a list this version does not have (a V4 pact lists messages in `interactions`; V1.1 and V2 have none)"
    if error.validator == "const":
        return f"type {error.instance!r}, not modelled"
    return error.message
