"""MyPay Sandbox as a Testcontainers module (`pip install 'mypay-sandbox[testcontainers]'`):
the image started from any Python test, ready when every part of it serves.

    from sandbox.testing.containers import MyPaySandboxContainer

    with MyPaySandboxContainer() as sandbox:
        merchant = sandbox.new_merchant(clock="manual")
        ...
"""

from sandbox.testing.containers.container import DEFAULT_IMAGE, MyPaySandboxContainer
from sandbox.testing.containers.ready import SandboxDidNotStart

__all__ = ["DEFAULT_IMAGE", "MyPaySandboxContainer", "SandboxDidNotStart"]
