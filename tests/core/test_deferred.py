"""The modules a dependency imports for code we never run (sandbox/core/deferred.py): the
sandbox starts without them, as the image (which leaves black out) does."""

from __future__ import annotations

import subprocess
import sys

# black made unimportable, as in the image: the app, Piccolo's configuration and the
# migrations load, and only a use of black says it is missing.
WITHOUT_BLACK = '''
import sys

class NoBlack:
    def find_spec(self, name, path=None, target=None):
        if name == "black" or name.startswith("black."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, NoBlack())
import sandbox.api.app, sandbox.piccolo_conf, piccolo.conf.apps
import black
try:
    black.format_str
except ModuleNotFoundError as e:
    print("used:", e)
'''


def test_the_sandbox_loads_without_black_and_a_use_of_it_says_it_is_missing():
    ran = subprocess.run([sys.executable, "-c", WITHOUT_BLACK], capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert ran.stdout.strip() == "used: No module named 'black'"
