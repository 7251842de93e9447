"""Turn a detection's examples (in its catalog file) into complete, realistic Okta events.

An example event lists only what matters to the detection; the rest comes from a realistic
sign-in. Special keys:
- `at`: an offset from the example's anchor time ("0s", "9m", "-3d"); `repeat` and `every`
  make several events ("every" defaults to 10s);
- `place`: where the event comes from (`home`, `office`, `abroad`, `far`, `tokyo`, `tor`,
  `mobile`), setting the IP, geolocation and network;
- `recorded: true`: the event is given whole, shaped like one recorded from a real tenant
  (its nulls, its string-encoded debugData, its engine's fields), and is not laid over the
  simulated sign-in; only its placeholders, `uuid` and `published` are filled in.

Strings may name the example's own identities: `{user}`, `{user2}`, `{admin}` (logins;
`{User}` is `{user}` capitalised, as some directories send it),
`{user_id}`, `{user2_id}`, `{admin_id}` (Okta ids), `{session}`, and `{n}` (the repeat
number), so examples never share users, sessions or ids.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from okta_pipeline.lib.detections.model import Example
from okta_pipeline.lib.okta_simulator.events import format_published

PLACES: dict[str, dict[str, Any]] = {
    "home": {
        "ip": "73.93.12.40",
        "geo": ("San Francisco", "California", "United States", "94105", 37.7898, -122.3942),
        "network": (7922, "comcast cable communications, llc", "comcast cable", "comcast.net"),
    },
    "office": {
        "ip": "108.29.40.17",
        "geo": ("New York", "New York", "United States", "10013", 40.7201, -74.0049),
        "network": (701, "verizon business", "verizon", "verizon.net"),
    },
    "abroad": {
        "ip": "81.129.77.8",
        "geo": ("London", "England", "United Kingdom", "EC2A", 51.5223, -0.0834),
        "network": (2856, "british telecommunications plc", "bt", "bt.com"),
    },
    "far": {
        "ip": "105.112.44.9",
        "geo": ("Lagos", "Lagos", "Nigeria", "100001", 6.4541, 3.3947),
        "network": (37148, "globacom limited", "globacom", None),
    },
    "tokyo": {
        "ip": "106.72.131.5",
        "geo": ("Tokyo", "Tokyo", "Japan", "100-0001", 35.6895, 139.6917),
        "network": (2516, "kddi corporation", "kddi", "kddi.com"),
    },
    "tor": {
        "ip": "185.220.101.33",
        "geo": ("Frankfurt am Main", "Hesse", "Germany", "60313", 50.1155, 8.6842),
        "network": (60729, "zwiebelfreunde e.v.", "tor exit", None),
        "proxy": True,
    },
    "mobile": {
        "ip": "172.58.10.77",
        "geo": ("Chicago", "Illinois", "United States", "60601", 41.8853, -87.6216),
        "network": (21928, "t-mobile usa, inc.", "t-mobile usa", "t-mobile.com"),
    },
}
_PLACEHOLDER = re.compile(r"\{(user2?_id|admin_id|user2?|User|admin|session|n)\}")
_OFFSET = re.compile(r"(-?\d+)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def offset(text: str | int) -> timedelta:
    """'9m' -> 9 minutes; '-3d' -> minus three days."""
    match = _OFFSET.fullmatch(str(text).strip())
    if match is None:
        raise ValueError(f"offset {text!r} is not like 30s, 9m, 2h or -3d")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


@dataclass(frozen=True)
class Identities:
    tag: str

    def value(self, name: str, n: int) -> str:
        if name == "n":
            return str(n)
        if name.endswith("_id"):
            digest = hashlib.sha256(f"{self.tag}:{name}".encode()).hexdigest()[:17]
            return f"00u{digest}"
        if name == "User":  # the login as a directory that capitalises names sends it
            return self.value("user", n).title()
        if name == "session":
            return f"idx{hashlib.sha256(self.tag.encode()).hexdigest()[:24]}"
        return f"{name}.{self.tag}@example.com"


def place_fields(name: str) -> dict[str, Any]:
    place = PLACES[name]
    city, state, country, postal, lat, lon = place["geo"]
    as_number, as_org, isp, domain = place["network"]
    geo = {
        "city": city,
        "state": state,
        "country": country,
        "postalCode": postal,
        "geolocation": {"lat": lat, "lon": lon},
    }
    return {
        "client": {"ipAddress": place["ip"], "geographicalContext": geo},
        "request": {
            "ipChain": [
                {"ip": place["ip"], "geographicalContext": geo, "version": "V4", "source": None}
            ]
        },
        "securityContext": {
            "asNumber": as_number,
            "asOrg": as_org,
            "isp": isp,
            "domain": domain,
            "isProxy": bool(place.get("proxy", False)),
        },
    }


def base_event() -> dict[str, Any]:
    """A successful sign-in as Okta writes it, from the user's home."""
    event: dict[str, Any] = {
        "version": "0",
        "severity": "INFO",
        "legacyEventType": "core.user_auth.login_success",
        "eventType": "user.session.start",
        "displayMessage": "User login to Okta",
        "actor": {
            "id": "{user_id}",
            "type": "User",
            "alternateId": "{user}",
            "displayName": "{user}",
            "detailEntry": None,
        },
        "client": {
            "userAgent": {
                "rawUserAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) "
                "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                "os": "Mac OS X",
                "browser": "CHROME",
            },
            "zone": "null",
            "device": "Computer",
            "id": None,
        },
        "device": None,
        "authenticationContext": {
            "authenticationProvider": None,
            "credentialProvider": None,
            "credentialType": None,
            "issuer": None,
            "interface": None,
            "authenticationStep": 0,
            "externalSessionId": "{session}",
            "rootSessionId": "{session}",
        },
        "outcome": {"result": "SUCCESS", "reason": None},
        "target": None,
        "transaction": {"type": "WEB", "id": "Z1example", "detail": {}},
        "debugContext": {
            "debugData": {
                "requestId": "Z1example",
                "requestUri": "/idp/idx/authenticators/poll",
                "url": "/idp/idx/authenticators/poll?",
                "threatSuspected": "false",
            }
        },
    }
    return _merge(event, place_fields("home"))


def example_events(
    example: Example, anchor: datetime, tag: str, first_uuid: int = 0
) -> list[dict[str, Any]]:
    """The example's events, complete, published from `anchor` on, with uuids from `tag`."""
    identities = Identities(tag)
    events: list[dict[str, Any]] = []
    for item in example.events:
        if item.get("source") == "cloudtrail":
            continue  # a CloudTrail record: example_records builds those
        spec = dict(item)
        at = anchor + offset(spec.pop("at", "0s"))
        repeat = int(spec.pop("repeat", 1))
        every = offset(spec.pop("every", "10s"))
        place = spec.pop("place", None)
        recorded = bool(spec.pop("recorded", False))
        for n in range(repeat):
            event = {} if recorded else base_event()
            if place is not None:
                event = _merge(event, place_fields(str(place)))
            event = _substitute(_merge(event, spec), identities, n)
            published = at + n * every
            event["published"] = format_published(int(published.timestamp() * 1000))
            event["uuid"] = f"ex-{tag}-{first_uuid + len(events):03d}"
            events.append(event)
    return events


def _merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _substitute(value: Any, identities: Identities, n: int) -> Any:
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: identities.value(m.group(1), n), value)
    if isinstance(value, list):
        return [_substitute(v, identities, n) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, identities, n) for k, v in value.items()}
    return value
