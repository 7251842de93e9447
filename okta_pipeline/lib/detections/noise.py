"""Each detection's measured noise: findings per org-day on a simulated org with no attacks.

The benchmark's noise scenario measures it (`okta-pipeline bench`) and writes
`okta_pipeline/detections/noise.json`; the docs table and `detections list --json` read it.
A detection added since the last measurement has no rate, and says so rather than showing 0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import okta_pipeline.detections

NOISE_FILE = Path(okta_pipeline.detections.__file__).resolve().parent / "noise.json"
NOISE_GOAL = 1.0
"""At most one finding per detection per org-day on an org with no attacks."""


@dataclass(frozen=True)
class NoiseMeasurement:
    measured_days: int
    events_per_minute: float
    per_org_day: dict[str, float]

    def rate(self, detection_id: str) -> float | None:
        return self.per_org_day.get(detection_id)


def measured_noise(path: Path = NOISE_FILE) -> NoiseMeasurement | None:
    """The last measurement, or None where the benchmark has not written one."""
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return NoiseMeasurement(
        measured_days=int(data["measured_days"]),
        events_per_minute=float(data["org"]["events_per_minute"]),
        per_org_day={str(k): float(v) for k, v in data["per_org_day"].items()},
    )
