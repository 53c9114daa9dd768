"""The ``/_emulator/`` control plane: loopback only, bad settings refused."""

from __future__ import annotations

from starlette.testclient import TestClient

from wsnb.emulator.state import EmulatorState


def test_control_plane_refuses_non_loopback_clients(app_state: EmulatorState) -> None:
    from wsnb.emulator import create_app

    with TestClient(create_app(state=app_state), client=("10.1.2.3", 5000)) as client:
        assert client.get("/_emulator/health").status_code == 403
    app_state.config.control_from_anywhere = True
    with TestClient(create_app(state=app_state), client=("10.1.2.3", 5000)) as client:
        assert client.get("/_emulator/health").status_code == 200


def test_control_rejects_bad_settings(api: TestClient) -> None:
    assert api.post("/_emulator/faults", json={"kind": "explode"}).status_code == 400
    assert api.put("/_emulator/throttle", json={"reads_per_minute": 0}).status_code == 400
    assert api.put("/_emulator/policy", json={"unknown_ids": "maybe"}).status_code == 400
    assert api.post("/_emulator/seed", json={"n": 3, "seed": 5}).status_code == 200
    assert api.post("/_emulator/seed", json={"n": 3, "seed": 5}).status_code == 409
