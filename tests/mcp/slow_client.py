"""A client of tests/mcp/test_fair_in_time.py that keeps CALLS tool calls in flight on slow
work, from this one process: it makes a merchant (its key revealed), makes the merchant's
next HELD `GET /payouts` slow (a `slow` fault holding each answer DELAY_S; the CALLS -
HELD after them a fault holding none, counted all the same), sends CALLS
`list_payouts` at once (each refused one sent again at once, as a greedy client does),
prints the merchant's key as a JSON line once they are all in flight (when CALLS is the cap:
a POST more is refused 429), then every call's outcome, counted, as a JSON line.

    python -m tests.mcp.slow_client URL CALLS DELAY_S HELD [wait]

With `wait`, it prints `{"ready": true}` once its merchant and faults are made, and sends its
calls when a line comes on its standard input."""

from __future__ import annotations

import asyncio
import json
import sys

import httpx

from sandbox.mcp.fairness.inflight import CALLS_IN_FLIGHT
from tests.mcp.raw import MODERN

ACCEPT = "application/json, text/event-stream"


def _call(tool: str, **arguments) -> tuple[dict, dict]:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": tool, "arguments": arguments, "_meta": {"io.modelcontextprotocol/protocolVersion": MODERN,
                                                        "io.modelcontextprotocol/clientCapabilities": {}}}}
    return body, {"Accept": ACCEPT, "MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": tool}


def _result(answer: httpx.Response) -> dict:
    text = answer.text
    if "data:" in text:
        text = next(line[5:] for line in text.splitlines() if line.startswith("data:"))
    return json.loads(text)["result"]


async def main(url: str, calls: int, delay_s: float, held: int, wait: bool) -> None:
    limits = httpx.Limits(max_connections=calls + 2, max_keepalive_connections=calls + 2)
    async with httpx.AsyncClient(timeout=600, limits=limits) as http:
        body, headers = _call("new_merchant", reveal_key=True)
        made = _result(await http.post(url, json=body, headers=headers))["structuredContent"]
        # The first HELD calls held DELAY_S, the others' rule holds nothing: each call to reach
        # the API takes a use of the rules, oldest first, so their uses left say how many did.
        for times, delay in ((min(calls, held), delay_s), (calls - held, 0.0)):
            if times > 0:
                body, headers = _call("inject_fault", fault="slow", path="/payouts", method="GET", times=times,
                                      delay_s=delay, merchant=made["handle"])
                assert not _result(await http.post(url, json=body, headers=headers)).get("isError")
        if wait:
            print(json.dumps({"ready": True}), flush=True)
            await asyncio.to_thread(sys.stdin.readline)
        outcomes: dict[str, int] = {}

        async def one() -> None:
            body, headers = _call("list_payouts", merchant=made["handle"])
            answer = await http.post(url, json=body, headers=headers)
            while answer.status_code == 429:  # past the cap while a probe was in flight: sent again
                answer = await http.post(url, json=body, headers=headers)
            said = "ok" if answer.status_code == 200 and not _result(answer).get("isError") else \
                f"{answer.status_code} {answer.text[:300]}"
            outcomes[said] = outcomes.get(said, 0) + 1

        sent = [asyncio.create_task(one()) for _ in range(calls)]
        if calls >= CALLS_IN_FLIGHT:
            # A malformed POST takes no turn (it is answered 400 at once) but counts against the
            # cap: refused 429, it says every call is in flight.
            for _ in range(3000):  # a minute at most (the test waits less)
                if (await http.post(url, content=b"{", headers={"Accept": ACCEPT})).status_code == 429:
                    break
                await asyncio.sleep(0.02)  # the calls' heads on their way: a condition polled
        print(json.dumps({"key": made["api_key"], "handle": made["handle"]}), flush=True)
        await asyncio.gather(*sent)
        print(json.dumps(outcomes), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), "wait" in sys.argv[5:]))
