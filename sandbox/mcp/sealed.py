"""The rules every tool call follows, in one place (an `MCPServer` whose `call_tool`
wraps the SDK's):

- Arguments are checked strictly, as the API checks a body: an unknown argument is
  refused (the schemas say `additionalProperties: false`), `"yes"` is not `true`, `"5"`
  is not 5; every string has a length bound. A refusal is in the API's words ("The
  arguments are not valid: amount: must be …", code validation_error), naming fields,
  never echoing a value.
- One deadline for the whole call, every request it makes included (`--tool-timeout`).
- A tool that writes takes `idempotency_key`; given none, the call gets a fresh one here,
  so its error can name it. The error says "call again with idempotency_key=…" only when
  a mutating request was sent and its answer not read (sandbox/mcp/connection.py).
- What the agent receives is bounded: the answer's text and its structured content
  together at most MAX_BYTES (sandbox/mcp/bounds.py), an error at most MAX_ERROR."""

from __future__ import annotations

import uuid
from typing import Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError, UnexpectedToolError
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, CallToolResult, TextContent
from pydantic import ConfigDict, ValidationError

from sandbox.core.types import PATTERN_WORDS
from sandbox.mcp.bounds import MAX_ERROR, PART_BYTES, compact, cut_words, fit
from sandbox.mcp.connection import CALL, CallState, Sandbox

MOST_NAME = 100  # characters of a tool, prompt or resource name echoed in a refusal


class SealedServer(MCPServer):
    sandbox: Sandbox

    def seal(self) -> None:
        """After every tool is registered: strict argument models that refuse unknown fields."""
        for tool in self._tool_manager.list_tools():
            base = tool.fn_metadata.arg_model
            config = ConfigDict(**{**base.model_config, "extra": "forbid", "strict": True})
            tool.fn_metadata.arg_model = type(base.__name__, (base,), {"model_config": config, "__module__": __name__})
            tool.parameters["additionalProperties"] = False

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Context | None = None) -> Any:
        tool = self._tool_manager.get_tool(name)
        if tool is None:
            raise ToolError(f"no tool named {cut_words(name, MOST_NAME)!r}: tools/list names them")
        arguments = dict(arguments)
        state = CallState()
        if "idempotency_key" in tool.parameters.get("properties", {}):
            given = arguments.get("idempotency_key")
            if given is None:
                arguments["idempotency_key"] = uuid.uuid4().hex
            state.idempotency_key = arguments["idempotency_key"] if isinstance(arguments["idempotency_key"],
                                                                                str) else None
        token = CALL.set(state)
        deadline = self.sandbox.deadline_s
        try:
            with anyio.fail_after(deadline):
                result = await super().call_tool(name, arguments, context)
        except TimeoutError:
            raise ToolError(f"{name} did not finish within {deadline:g} s, the deadline of one tool call (sandbox mcp "
                            f"--tool-timeout){_again(name, state)}") from None
        except UnexpectedToolError:
            raise
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                raise ToolError(_in_words(exc.__cause__, tool.parameters)) from None
            raise ToolError(cut_words(f"{exc}{_again(name, state)}", MAX_ERROR)) from None
        finally:
            CALL.reset(token)
            for handle in state.handles:  # answered (or failed): idle from now
                self.sandbox.merchants.answered(handle)
        return _bounded(result)

    async def read_resource(self, uri: Any, context: Context | None = None) -> Any:
        if len(str(uri)) > MOST_NAME * 3:
            raise ResourceError(f"a resource URI here is at most {MOST_NAME * 3} characters: resources/list names "
                                "them")
        return await super().read_resource(uri, context)

    async def get_prompt(self, name: str, arguments: dict[str, Any] | None = None,
                         context: Context | None = None) -> Any:
        """A prompt, or a refusal in words (INVALID_PARAMS), as a tool's arguments are refused."""
        prompt = self._prompt_manager.get_prompt(name)
        if prompt is None:
            raise MCPError(INVALID_PARAMS, f"no prompt named {cut_words(name, MOST_NAME)!r}: prompts/list names them")
        takes = [a.name for a in prompt.arguments or []]
        unknown = sorted(set(arguments or {}) - set(takes))
        if unknown:
            raise MCPError(INVALID_PARAMS, f"The arguments are not valid: {cut_words(unknown[0], MOST_NAME)}: is "
                                           f"not an argument of this prompt (it takes: {', '.join(takes)}) (code "
                                           "validation_error)")
        try:
            return await super().get_prompt(name, arguments, context)
        except MCPError:
            raise
        except Exception as exc:
            cause: BaseException | None = exc
            while cause is not None and not isinstance(cause, ValidationError):
                cause = cause.__cause__
            said = (_in_words(cause, {"properties": dict.fromkeys(takes)}) if isinstance(cause, ValidationError)
                    else cut_words(str(exc), MAX_ERROR))
            raise MCPError(INVALID_PARAMS, said) from None


def _again(name: str, state: CallState) -> str:
    if not (state.maybe_applied and state.idempotency_key):
        return ""
    return (f"; it may have been done: call {name} again with the same arguments and "
            f"idempotency_key={state.idempotency_key} to get its answer rather than doing it twice")


def _bounded(result: Any) -> Any:
    """The answer as the agent reads it: the structured content cut to fit, and the text
    the same JSON, compact, so both together stay under MAX_BYTES."""
    if not isinstance(result, CallToolResult) or not isinstance(result.structured_content, dict):
        return result
    fitted = fit(result.structured_content, PART_BYTES)
    return CallToolResult(content=[TextContent(type="text", text=compact(fitted))], structured_content=fitted,
                          is_error=result.is_error)


# --- bad arguments, in the API's words ------------------------------------------------

_TYPES = {"bool_type": "must be true or false", "string_type": "must be a string",
          "int_type": "must be an integer", "int_from_float": "must be an integer",
          "float_type": "must be a number", "list_type": "must be a list", "dict_type": "must be an object",
          "missing": "is required", "none_required": "must be null"}


def _in_words(error: ValidationError, schema: dict[str, Any]) -> str:
    said: dict[str, list[str]] = {}  # field -> what each of its shapes wanted ("or" between them)
    for item in error.errors(include_input=False, include_url=False)[:10]:
        field = ".".join(str(part) for part in _where(item["loc"], schema)) or "arguments"
        said.setdefault(cut_words(field, MOST_NAME), []).append(_words(item, schema))
    return cut_words("The arguments are not valid: " + "; ".join(
        f"{field}: {', or '.join(dict.fromkeys(words))}" for field, words in said.items()) + " (code validation_error)",
                     MAX_ERROR)


def _where(loc: tuple[Any, ...], schema: dict[str, Any]) -> tuple[Any, ...]:
    """An error's place without pydantic's name for the shape of a union it was tried as
    (gate's require_coverage: "all", or a list: `literal['all']`, `list[constrained-str]`)."""
    field = (schema.get("properties") or {}).get(loc[0]) if loc else None
    shapes = [o for o in (field or {}).get("anyOf", []) if o.get("type") != "null"]
    return loc[:1] + loc[2:] if len(shapes) > 1 and len(loc) > 1 else loc


def _words(item: Any, schema: dict[str, Any]) -> str:
    kind, ctx = item["type"], item.get("ctx") or {}
    if kind == "extra_forbidden":
        takes = ", ".join(schema.get("properties", {})) or "no arguments"
        return f"is not an argument of this tool (it takes: {takes})"
    if kind in _TYPES:
        return _TYPES[kind]
    if kind == "string_pattern_mismatch":
        return PATTERN_WORDS.get(str(ctx.get("pattern")), "is not in the accepted form (see the tool's input schema)")
    if kind in ("string_too_long", "too_long"):
        unit = "characters" if kind == "string_too_long" else "items"
        return f"must have at most {ctx.get('max_length')} {unit}"
    if kind in ("string_too_short", "too_short"):
        least = ctx.get("min_length")
        return "must not be empty" if least == 1 else f"must have at least {least} " + (
            "characters" if kind == "string_too_short" else "items")
    if kind in ("literal_error", "enum"):
        return f"must be one of {ctx.get('expected')}"
    bounds = {"less_than_equal": ("at most", "le"), "greater_than_equal": ("at least", "ge"),
              "less_than": ("less than", "lt"), "greater_than": ("more than", "gt")}
    if kind in bounds:
        words, key = bounds[kind]
        return f"must be {words} {ctx.get(key)}"
    return "is not valid (see the tool's input schema)"
