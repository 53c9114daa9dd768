"""wsnb._checks: the one integer check behind the client's and the deleter's options."""

from __future__ import annotations

import pytest

from wsnb._checks import check_int


@pytest.mark.parametrize(
    ("value", "low", "high"),
    [(0, 0, None), (10**12, 0, None), (1, 1, 5), (5, 1, 5), (-3, -5, -1)],
)
def test_accepts_ints_in_range_and_returns_them(value: int, low: int, high: int | None) -> None:
    assert check_int("n", value, low, high) == value


@pytest.mark.parametrize("value", [True, False, 2.0, "3", None, [1]])
def test_refuses_non_ints_naming_the_field_and_the_type(value: object) -> None:
    with pytest.raises(TypeError) as info:
        check_int("chunk_size", value, 0)
    assert str(info.value) == f"chunk_size must be an int, got {type(value).__name__}"


@pytest.mark.parametrize(
    ("value", "low", "high", "message"),
    [
        (-1, 0, None, "offset must be at least 0, got -1"),
        (0, 1, 5000, "offset must be between 1 and 5000, got 0"),
        (5001, 1, 5000, "offset must be between 1 and 5000, got 5001"),
    ],
)
def test_refuses_out_of_range_naming_the_limit(
    value: int, low: int, high: int | None, message: str
) -> None:
    with pytest.raises(ValueError) as info:
        check_int("offset", value, low, high)
    assert str(info.value) == message
    assert not isinstance(info.value, TypeError)
