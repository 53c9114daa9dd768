"""wsnb.deletion._run._existing: which ids exist, whatever ``total_count`` says.

The deleter's pre-check and verification ask this; a wrong answer would report tasks deleted
that still exist (or the reverse). ``total_count`` only picks the cheaper way to ask.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from wsnb.deletion._run import _existing
from wsnb.errors import BadRequestError


class FakeApi:
    """A project of ``normal`` + ``life`` tasks whose list pages report ``hint(true_total)``."""

    def __init__(self, normal: int, life: int, hint: Any) -> None:
        self.normal = [{"id": f"n-{i}"} for i in range(normal)]
        self.life = [{"id": f"l-{i}"} for i in range(life)]
        self.hint = hint
        self.calls: list[str] = []

    async def list_page(
        self, offset: int, filters: Any, limit: int = 50
    ) -> tuple[list[Any], int | None]:
        self.calls.append("list")
        pool = self.life if filters.get("scheduled_type") == "LIFE_CYCLE" else self.normal
        return pool[offset : offset + limit], self.hint(len(pool))

    async def get_task(self, task_id: str) -> dict[str, Any]:
        self.calls.append("get")
        if any(t["id"] == task_id for t in self.normal + self.life):
            return {"id": task_id}
        raise BadRequestError(
            status=400, error_code="WKS.0001", error_msg="The scheduled task does not exist."
        )


HINTS = {
    "exact": lambda true: true,
    "absent": lambda true: None,
    "zero": lambda true: 0,  # a total that under-counts must not read as "the project is empty"
    "too_big": lambda true: true + 10_000,
    "too_small": lambda true: max(0, true - 70),
}


@pytest.mark.parametrize("hint", sorted(HINTS))
@pytest.mark.parametrize("wanted", [3, 40])
def test_existing_is_right_whatever_total_count_says(hint: str, wanted: int) -> None:
    api = FakeApi(130, 12, HINTS[hint])
    ids = [*[f"n-{i}" for i in range(0, 130, 130 // wanted)][: wanted - 2], "l-5", "ghost"]
    present = asyncio.run(_existing(api, ids))  # type: ignore[arg-type]
    assert present == set(ids) - {"ghost"}


def test_an_empty_project_is_known_from_empty_pages_not_from_the_total() -> None:
    api = FakeApi(0, 0, lambda true: 7)  # a total that counts something the list never shows
    assert asyncio.run(_existing(api, ["a", "b", "c"])) == set()  # type: ignore[arg-type]
    assert api.calls == ["list", "list"]


def test_without_a_hint_ids_are_looked_up_one_by_one() -> None:
    """No total: the listing's cost is unknown, per-id lookups cost exactly one call per id."""
    api = FakeApi(400, 0, lambda true: None)
    ids = ["n-1", "n-399", "ghost", "n-200"]
    assert asyncio.run(_existing(api, ids)) == {"n-1", "n-399", "n-200"}  # type: ignore[arg-type]
    assert api.calls.count("get") == 4
