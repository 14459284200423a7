"""`MyPaySandboxContainer`: the sandbox's image on testcontainers' own `DockerContainer`,
started when `/api/v1/ready` answers 200, with the calls a test makes next (a merchant,
its clock, the verdict, the receiver audit) through the plugin's typed client."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Literal

import docker.errors
import msgspec
from testcontainers.core.container import DockerContainer

from sandbox.client import answers
from sandbox.client.blocking import OPENING_BALANCE, api_client, expect
from sandbox.client.gate import GATE, adds_up
from sandbox.clocks.schemas import ClockAdvanced
from sandbox.settings import plugin_env
from sandbox.testing.client import MypayMerchant, MypaySandbox
from sandbox.testing.containers.ready import ExitedWhileStarting, ReadyOrExited, SandboxDidNotStart, log_tail
from sandbox.verdicts.schemas import GateRequest, GateVerdict
from sandbox.webhooks.model.schemas import WebhookAudit

# The name `docker build -t mypay-sandbox .` gives (docs/running-in-ci.md); a CI that
# builds another tag names it with `image=` or MYPAY_SANDBOX_IMAGE.
DEFAULT_IMAGE = "mypay-sandbox:latest"
API_PORT, IPN_PORT = 8000, 8001  # the image's own; the engine maps each to a free host port
STARTUP_TIMEOUT_S = 120.0  # a cold image on a loaded CI machine; ready in seconds here
# Settings the container must not be given: its ports and address are the image's, mapped.
_FIXED = {"SANDBOX_API_PORT", "SANDBOX_IPN_PORT", "SANDBOX_HOST", "SANDBOX_DATA_DIR"}
# How a container reaches the machine that started it (a test's webhook receiver):
# Podman adds this name to every container's /etc/hosts; Docker Engine needs it asked
# for (`host-gateway`), Docker Desktop answers it anyway.
PODMAN_HOST_NAME, DOCKER_HOST_NAME = "host.containers.internal", "host.docker.internal"

Clock = Literal["manual", "live"]


class MyPaySandboxContainer(DockerContainer):
    """The sandbox in a container of its own, on free ports, with simulated time instant
    (`time_scale=0`) unless asked otherwise. `settings` are any SANDBOX_* variables
    (docs/configuration.md), by full name or without the prefix (`{"rail_secret": …}`).

        with MyPaySandboxContainer(admin_key="sk_admin_ci_only_0123456789") as sandbox:
            merchant = sandbox.new_merchant(clock="manual")
            sandbox.advance_clock(merchant, until="idle")
            verdict = sandbox.gate(merchant, require_coverage=["instant_success"])
    """

    def __init__(self, image: str | None = None, *, admin_key: str | None = None, time_scale: float = 0,
                 settings: dict[str, str] | None = None, startup_timeout: float = STARTUP_TIMEOUT_S,
                 **kwargs: Any) -> None:
        super().__init__(image or plugin_env().image or DEFAULT_IMAGE, **kwargs)
        self.admin_key = admin_key if admin_key is not None else "sk_admin_tc_" + secrets.token_hex(16)
        self.with_exposed_ports(API_PORT, IPN_PORT)
        for name, value in (settings or {}).items():
            full = name if name.startswith("SANDBOX_") else "SANDBOX_" + name.upper()
            if full in _FIXED:
                raise ValueError(f"{full} is the image's own in a container (ports are mapped: get_api_url())")
            self.with_env(full, str(value))
        self.with_env("SANDBOX_ADMIN_KEY", self.admin_key)
        self.with_env("SANDBOX_TIME_SCALE", f"{time_scale:g}")
        ready = ReadyOrExited(API_PORT).with_startup_timeout(timedelta(seconds=startup_timeout))
        self.waiting_for(ready.with_poll_interval(0.2))
        self.host_name = DOCKER_HOST_NAME
        self._sandbox: MypaySandbox | None = None

    def _configure(self) -> None:
        """Before the container is made: how it will reach this machine, by engine."""
        engine = self.get_docker_client().client.version().get("Components") or [{}]
        if any("podman" in str(c.get("Name", "")).lower() for c in engine):
            self.host_name = PODMAN_HOST_NAME
        else:
            extra = dict(self._kwargs.get("extra_hosts") or {})
            extra.setdefault(DOCKER_HOST_NAME, "host-gateway")
            self._kwargs["extra_hosts"] = extra

    def start(self) -> MyPaySandboxContainer:
        try:
            super().start()
        except docker.errors.ImageNotFound as exc:
            self._remove()
            raise SandboxDidNotStart(f"no image {self.image}: build it (`docker build -t mypay-sandbox .` in the "
                                     f"repository) or name yours with image= or MYPAY_SANDBOX_IMAGE ({exc})") from None
        except docker.errors.APIError as exc:
            # A pull refused (no such image in any registry reached), a create or start refused.
            self._remove()
            raise SandboxDidNotStart(f"the engine refused to start {self.image}: {exc.explanation or exc}") from None
        except (ExitedWhileStarting, TimeoutError, RuntimeError) as exc:
            why = str(exc.__cause__ or exc)  # a check that raised is wrapped in a RuntimeError
            if self._container is not None and not isinstance(exc, ExitedWhileStarting):
                self.reload()
                why = f"{why} (the container is {self.status})"
            tail = log_tail(self) if self._container is not None else "(no container was made)"
            self._remove()
            raise SandboxDidNotStart(f"{self.image} did not start: {why}\n--- its log, last lines ---\n{tail}") \
                from None
        self._sandbox = MypaySandbox(self.get_api_url(), self.admin_key, webhook_host=self.host_name)
        return self

    def _remove(self) -> None:
        """A start that failed leaves nothing behind, whether or not the caller uses `with`."""
        if self._container is not None:
            try:
                self._container.remove(force=True, v=True)
            except docker.errors.NotFound:
                pass
            self._container = None

    def stop(self, force: bool = True, delete_volume: bool = True) -> None:
        if self._sandbox is not None:
            self._sandbox.close()
            self._sandbox = None
        super().stop(force, delete_volume)

    # --- where it is --------------------------------------------------------------------
    def get_api_url(self) -> str:
        """The API's root, e.g. http://localhost:32771/api/v1."""
        return f"http://{self.get_container_host_ip()}:{self.get_exposed_port(API_PORT)}/api/v1"

    def get_ipn_url(self) -> str:
        """The IPN service's root (the rail's callbacks), e.g. http://localhost:32772."""
        return f"http://{self.get_container_host_ip()}:{self.get_exposed_port(IPN_PORT)}"

    def get_admin_key(self) -> str:
        return self.admin_key

    @property
    def sandbox(self) -> MypaySandbox:
        """The plugin's client on this sandbox (admin key, scenario table, merchants made)."""
        if self._sandbox is None:
            raise SandboxDidNotStart("the container is not started: start() it, or use it in a `with` block")
        return self._sandbox

    # --- what a test does next ----------------------------------------------------------
    def new_merchant(self, clock: Clock | None = "manual", opening_balance: str = OPENING_BALANCE) -> MypayMerchant:
        """A fresh merchant (its own key: `.key`; an httpx client with it: `.client`); on a
        manual clock unless `clock="live"`, so its payouts move only with `advance_clock`."""
        return self.sandbox.new_merchant(clock=clock, opening_balance=opening_balance, made_by="testcontainers")

    def advance_clock(self, merchant: MypayMerchant | str, seconds: float | None = None,
                      until: Literal["idle"] | None = None) -> ClockAdvanced:
        """Move the merchant's manual clock `seconds` forward, or `until="idle"`; answers once
        every step that fell due is applied."""
        with self._client(merchant) as client:
            body = {"seconds": seconds} if until is None else {"until": until}
            return msgspec.convert(expect(client.post("/sandbox/clock/advance", json=body), 200), ClockAdvanced)

    def gate(self, merchant: MypayMerchant | str, require_coverage: Literal["all"] | list[str] | None = None,
             require_safe_retries: bool = False, audit_endpoint: str | None = None) -> GateVerdict:
        """The sandbox's verdict on the merchant (what `sandbox gate` asks): `held` is true
        only when each requirement held. A refusal raises `answers.Refused`, an answer that
        is not the API's `answers.NotTheApi`: never a pass."""
        asked = GateRequest(require_coverage=require_coverage, require_safe_retries=require_safe_retries,
                            audit_endpoint=audit_endpoint)
        with self._client(merchant) as client:
            answer = answers.read(client.post(GATE, json=msgspec.to_builtins(asked)))
        return adds_up(answer, asked, answers.decoded(answer, 200, GateVerdict))

    def audit_receiver(self, url: str, use_secret: Callable[[str], Any], signing: str = "hmac-sha256") -> WebhookAudit:
        """The receiver audit of your webhook receiver at `url`, a URL this container reaches
        (this machine is `host_name` from inside it); `use_secret` gets its signing secret."""
        return msgspec.convert(self.sandbox.audit_receiver(url, use_secret, signing), WebhookAudit)

    def _client(self, merchant: MypayMerchant | str):
        return api_client(self.get_api_url(), merchant.key if isinstance(merchant, MypayMerchant) else merchant)
