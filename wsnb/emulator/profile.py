"""Emulator profiles: which variant of the service's answers the emulator gives.

Contract: a :class:`Profile` is a frozen set of knobs, one per difference between what the
documents say and what the live service is evidenced to answer (the tags are those of
``live-api-evidence.md``: SIGN, APIG, ISS, TF, DOC, DEF). :data:`PROFILES` holds the presets:

* ``documented`` (the default): the docs and the SDK, every knob at its first value;
* ``live``: every evidenced live shape: ``APIGW.*`` gateway codes (SIGN, ISS), ``total_count``
  counting the LIFE_CYCLE tasks the list hides (the TF data source ignores the total), records'
  ``start_time`` in RFC 3339 and details' times as ``…T…​.000Z`` (TF parse formats), list
  ``next_execution_time`` with a `` GMT+08:00`` suffix (TF docs), and the ``time_zone_name``
  filter ignored (TF: "not available").

Knobs combine: ``Profile.preset("live", total_count="omit")``, or ``Profile(total_count="omit")``
(documented otherwise). The time knobs only change how stored times are written in answers; the
store always keeps the documented ``yyyy-MM-dd HH:mm:ss`` local to the task's zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final, Literal, get_args

from wsnb._time import parse_api_time, zone

GatewayPrefix = Literal["APIG", "APIGW"]
TotalCount = Literal["listed", "with_life_cycle", "omit"]
ListTimes = Literal["plain", "gmt_offset"]
RecordTimes = Literal["plain", "rfc3339"]
DetailTimes = Literal["plain", "utc_millis"]
ProfileName = Literal["documented", "live"]

_PLAIN: Final = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class Profile:
    """The knobs. Each defaults to the documented behaviour.

    ``gateway_prefix``: ``"APIG"`` (the API Gateway product's table) or ``"APIGW"`` (what the
    gateway in front of cloud services answers) for 401 ``0301``, 429 ``0308``, 404 ``0101`` and
    413 ``0201``. ``total_count``: ``"listed"`` (the tasks the query lists), ``"with_life_cycle"``
    (also the LIFE_CYCLE tasks a query without ``scheduled_type=LIFE_CYCLE`` hides) or ``"omit"``.
    ``list_times``: list ``next_execution_time`` ``"plain"`` or with a ``" GMT+08:00"`` suffix
    (``"gmt_offset"``). ``record_times``: records' ``start_time`` ``"plain"`` or RFC 3339 with
    the zone's offset. ``detail_times``: details' ``start_time``/``end_time`` ``"plain"`` or UTC
    with milliseconds, ``2026-03-01T00:00:00.000Z`` (``"utc_millis"``). ``time_zone_filter``:
    whether ``ListTimeZones`` applies ``time_zone_name``.
    """

    gateway_prefix: GatewayPrefix = "APIG"
    total_count: TotalCount = "listed"
    list_times: ListTimes = "plain"
    record_times: RecordTimes = "plain"
    detail_times: DetailTimes = "plain"
    time_zone_filter: bool = True

    def __post_init__(self) -> None:
        allowed: dict[str, tuple[Any, ...]] = {
            "gateway_prefix": get_args(GatewayPrefix),
            "total_count": get_args(TotalCount),
            "list_times": get_args(ListTimes),
            "record_times": get_args(RecordTimes),
            "detail_times": get_args(DetailTimes),
            "time_zone_filter": (True, False),
        }
        for name, values in allowed.items():
            value = getattr(self, name)
            if value not in values or type(value) is not type(values[0]):
                raise ValueError(
                    f"profile knob {name} must be one of {list(values)}, not {value!r}"
                )

    # --- presets and (de)serialisation --------------------------------------------------------

    @classmethod
    def preset(cls, name: str, **knobs: Any) -> Profile:
        """The preset ``name`` (see :data:`PROFILES`), with ``knobs`` changed."""
        if name not in PROFILES:
            raise ValueError(f"unknown profile {name!r}; the presets are {sorted(PROFILES)}")
        return PROFILES[name].with_knobs(**knobs)

    def with_knobs(self, **knobs: Any) -> Profile:
        """This profile with ``knobs`` changed (unknown names raise ``ValueError``)."""
        unknown = sorted(set(knobs) - set(KNOBS))
        if unknown:
            raise ValueError(f"unknown profile knob(s) {unknown}; the knobs are {list(KNOBS)}")
        return replace(self, **knobs)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], base: Profile | None = None) -> Profile:
        """From JSON: an optional ``"preset"`` (else ``base``, else documented) plus knobs."""
        knobs = {k: v for k, v in raw.items() if k not in ("preset", "name")}
        if raw.get("preset") is not None:
            return cls.preset(str(raw["preset"]), **knobs)
        return (base or cls()).with_knobs(**knobs)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **asdict(self)}

    @property
    def name(self) -> str:
        """The preset this profile equals, else ``"custom"``."""
        return next((n for n, p in PROFILES.items() if p == self), "custom")

    # --- how answers look ---------------------------------------------------------------------

    def gateway_code(self, code: str) -> str:
        """``code`` with the profile's gateway prefix (``APIG.0308`` -> ``APIGW.0308``)."""
        head, dot, number = code.partition(".")
        if dot and head in get_args(GatewayPrefix):
            return f"{self.gateway_prefix}.{number}"
        return code

    def list_time(self, value: str | None, zone_name: str | None) -> str | None:
        """A list item's ``next_execution_time``."""
        moment = _moment(value, zone_name) if self.list_times == "gmt_offset" else None
        if moment is None:
            return value
        return f"{moment.strftime(_PLAIN)} GMT{_offset(moment)}"

    def record_time(self, value: str | None, zone_name: str | None) -> str | None:
        """A record's ``start_time``."""
        moment = _moment(value, zone_name) if self.record_times == "rfc3339" else None
        return value if moment is None else moment.isoformat(timespec="seconds")

    def detail_time(self, value: str | None, zone_name: str | None) -> str | None:
        """A record detail's ``start_time`` / ``end_time``."""
        moment = _moment(value, zone_name) if self.detail_times == "utc_millis" else None
        if moment is None:
            return value
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _moment(value: str | None, zone_name: str | None) -> datetime | None:
    """A stored (documented) time as an aware datetime in its zone; None if it is not one."""
    if not value:
        return None
    try:
        parsed = parse_api_time(value, zone_name)
    except ValueError:
        return None
    return parsed.astimezone(zone(zone_name)) if parsed is not None else None


def _offset(moment: datetime) -> str:
    """``+08:00`` for ``moment``'s UTC offset."""
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


#: The knob names, in order.
KNOBS: Final = tuple(f.name for f in fields(Profile))

#: The presets. ``live`` is every evidenced live shape at once.
PROFILES: Final[Mapping[str, Profile]] = MappingProxyType(
    {
        "documented": Profile(),
        "live": Profile(
            gateway_prefix="APIGW",
            total_count="with_life_cycle",
            list_times="gmt_offset",
            record_times="rfc3339",
            detail_times="utc_millis",
            time_zone_filter=False,
        ),
    }
)


def as_profile(value: Profile | str) -> Profile:
    """A :class:`Profile` from itself or a preset name."""
    if isinstance(value, Profile):
        return value
    return Profile.preset(value)


__all__ = [
    "KNOBS",
    "PROFILES",
    "DetailTimes",
    "GatewayPrefix",
    "ListTimes",
    "Profile",
    "ProfileName",
    "RecordTimes",
    "TotalCount",
    "as_profile",
]
