"""Static reference data the helper endpoints answer with (time zones, life-cycle settings)."""

from __future__ import annotations

from typing import Any, Final

from wsnb.models import LIFE_CYCLE_CONFIG_TYPES


def _zone(offset: str, name: str, us: str, cn: str) -> dict[str, str]:
    return {
        "time_zone": offset,
        "time_zone_name": name,
        "time_zone_desc": f"(UTC{offset[3:]}) {us}",
        "time_zone_desc_us": f"(UTC{offset[3:]}) {us}",
        "time_zone_desc_cn": f"(UTC{offset[3:]}) {cn}",
    }


#: A representative subset of the service's zone list (offsets are standard time).
TIME_ZONES: Final[tuple[dict[str, str], ...]] = (
    _zone(
        "GMT-08:00", "America/Los_Angeles", "Pacific Time (US & Canada)", "太平洋时间(美国和加拿大)"
    ),
    _zone("GMT-05:00", "America/New_York", "Eastern Time (US & Canada)", "东部时间(美国和加拿大)"),
    _zone("GMT-03:00", "America/Sao_Paulo", "Brasilia", "巴西利亚"),
    _zone("GMT+00:00", "UTC", "Coordinated Universal Time", "协调世界时"),
    _zone(
        "GMT+00:00",
        "Europe/London",
        "Dublin, Edinburgh, Lisbon, London",
        "都柏林,爱丁堡,里斯本,伦敦",
    ),
    _zone(
        "GMT+01:00",
        "Europe/Berlin",
        "Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna",
        "阿姆斯特丹,柏林,伯尔尼,罗马,斯德哥尔摩,维也纳",
    ),
    _zone("GMT+02:00", "Africa/Johannesburg", "Harare, Pretoria", "哈拉雷,比勒陀利亚"),
    _zone("GMT+03:00", "Europe/Istanbul", "Istanbul", "伊斯坦布尔"),
    _zone("GMT+03:00", "Asia/Riyadh", "Kuwait, Riyadh", "科威特,利雅得"),
    _zone("GMT+07:00", "Asia/Bangkok", "Bangkok, Hanoi, Jakarta", "曼谷,河内,雅加达"),
    _zone(
        "GMT+08:00",
        "Asia/Shanghai",
        "Beijing, Chongqing, Hong Kong, Urumqi",
        "北京,重庆,香港特别行政区,乌鲁木齐",
    ),
    _zone("GMT+08:00", "Asia/Singapore", "Kuala Lumpur, Singapore", "吉隆坡,新加坡"),
    _zone("GMT+09:00", "Asia/Tokyo", "Osaka, Sapporo, Tokyo", "大阪,札幌,东京"),
    _zone("GMT+10:00", "Australia/Sydney", "Canberra, Melbourne, Sydney", "堪培拉,墨尔本,悉尼"),
)

_ACTIONS: Final = ("STOP", "HIBERNATE", "REBOOT", "EXECUTE_SCRIPT")

#: Illustrative settings per life-cycle type (the real values are not published).
LIFE_CYCLE_CONFIGURATIONS: Final[dict[str, dict[str, Any]]] = {
    name: {
        "min_wait_time": 0 if name.startswith("POST_CREATE") else 1,
        "default_wait_time": 0 if name.startswith("POST_CREATE") else 30,
        "min_exec_time": 1,
        "default_exec_time": 1440,
        "support_exec_time": name in ("POST_DESKTOP_DISCONNECTED", "POST_DESKTOP_CANNOT_CONNECT"),
        "actions": [{"action": a} for a in _ACTIONS],
    }
    for name in LIFE_CYCLE_CONFIG_TYPES
}
