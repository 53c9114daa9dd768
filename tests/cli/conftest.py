"""Fixtures of the CLI tests: the environment that points ``wsnb`` at the test emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from wsnb.emulator import Emulator


@pytest.fixture
def env(emulator: Emulator, tmp_path: Path) -> dict[str, str]:
    """The emulator's endpoint and keys, and a ledger in this test's folder."""
    return {
        "WSNB_ENDPOINT": emulator.endpoint,
        "HUAWEICLOUD_SDK_AK": emulator.ak,
        "HUAWEICLOUD_SDK_SK": emulator.sk,
        "HUAWEICLOUD_SDK_PROJECT_ID": emulator.project_id,
        "WSNB_LEDGER": str(tmp_path / "ledger.sqlite"),
    }
