"""Did the detections find the attacks a simulation injected? Ground truth against findings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from okta_pipeline.lib.detections.findings import Finding


@dataclass(frozen=True)
class LabelledAttack:
    """An attack with ground truth: its events (Okta uuids, CloudTrail eventIDs) and the
    detection meant to find it."""

    incident: str
    scenario: str
    detection: str
    uuids: frozenset[str]


@dataclass(frozen=True)
class FoundEvidence:
    """What scoring needs of a finding, from the engine or read back from the findings index."""

    finding_id: str
    detection: str
    uuids: frozenset[str]

    @classmethod
    def of(cls, finding: Finding) -> FoundEvidence:
        return cls(finding.id, finding.detection.id, frozenset(e.uuid for e in finding.evidence))

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> FoundEvidence:
        """From a findings document: its Okta uuids and its CloudTrail eventIDs."""
        evidence = document["evidence"]
        aws = (evidence.get("cloudtrail") or {}).get("event_ids") or []
        return cls(
            str(document["finding_id"]),
            str(document["detection"]["id"]),
            frozenset(evidence.get("uuids") or []) | frozenset(aws),
        )


@dataclass(frozen=True)
class AttackResult:
    attack: LabelledAttack
    findings: tuple[FoundEvidence, ...]
    """The expected detection's findings whose evidence includes the attack's events."""

    @property
    def found(self) -> bool:
        return bool(self.findings)


def score(
    attacks: Iterable[LabelledAttack], findings: Iterable[FoundEvidence]
) -> list[AttackResult]:
    found = list(findings)
    return [
        AttackResult(
            attack,
            tuple(f for f in found if f.detection == attack.detection and attack.uuids & f.uuids),
        )
        for attack in sorted(attacks, key=lambda a: (a.scenario, a.incident))
    ]
