"""Self-tests of the lab: the session's lab. The helpers are in tests/lab/harness.py."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# The lab fixture: importing it into a conftest makes pytest use it.
from harness import lab  # noqa: E402,F401  pylint: disable=unused-import
