"""A local emulator of the Workspace scheduled-tasks API (Starlette + uvicorn + SQLite).

It speaks the real paths, fields, limits and error envelope, checks AK/SK signatures, and can
throttle and inject faults, so the client and the deleter are tested against the same HTTP the
cloud serves. Nothing else in ``wsnb`` imports it.
"""

from __future__ import annotations

from .control import Control, ControlError
from .faults import FaultRule, Throttle
from .profile import PROFILES, Profile
from .routes import create_app
from .server import Emulator
from .state import EmulatorConfig

__all__ = [
    "PROFILES",
    "Control",
    "ControlError",
    "Emulator",
    "EmulatorConfig",
    "FaultRule",
    "Profile",
    "Throttle",
    "create_app",
]
