"""The detection catalog: Sigma rules and stateful declarations under `okta_pipeline/detections/`.

Single-event rules are Sigma rules; threshold rules are Sigma correlations (event_count or
value_count) over a base rule in the same file. Stateful detections are YAML declarations with
the same metadata, naming a Python function in `stateful/`. Project metadata (version, entity,
response, examples) sits in each rule's `okta_pipeline` block, a Sigma custom attribute that
other Sigma tools ignore.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from okta_pipeline.lib.detections.exceptions import DetectionException, ExceptionError
from okta_pipeline.lib.detections.model import Detection, Example, Logic, Severity, StatefulLogic
from okta_pipeline.lib.detections.sigma_rules import (
    CatalogError,
    compile_correlation,
    compile_rule,
    counted_rule,
    fields_read,
    rule_level,
    rule_tags,
)
from okta_pipeline.lib.detections.stateful import STATEFUL_FUNCTIONS

SOURCES = ("okta", "cloudtrail")
"""What a detection may read: Okta's System Log, and AWS CloudTrail (cross-source)."""

CATALOG_PACKAGE = "okta_pipeline.detections"
BLOCK = "okta_pipeline"
TACTICS = {
    "reconnaissance": "TA0043",
    "resource-development": "TA0042",
    "initial-access": "TA0001",
    "execution": "TA0002",
    "persistence": "TA0003",
    "privilege-escalation": "TA0004",
    "defense-evasion": "TA0005",
    "credential-access": "TA0006",
    "discovery": "TA0007",
    "lateral-movement": "TA0008",
    "collection": "TA0009",
    "command-and-control": "TA0011",
    "exfiltration": "TA0010",
    "impact": "TA0040",
}
MAX_HORIZON = timedelta(hours=24)
_DURATION = re.compile(r"(\d+)([mh])")


class UnknownDetectionError(ValueError):
    """A detection id that the catalog does not have."""


@dataclass(frozen=True)
class Catalog:
    detections: tuple[Detection, ...]

    def __iter__(self) -> Iterator[Detection]:
        return iter(self.detections)

    def __len__(self) -> int:
        return len(self.detections)

    def get(self, detection_id: str) -> Detection:
        for detection in self.detections:
            if detection.id == detection_id:
                return detection
        known = ", ".join(sorted(d.id for d in self.detections))
        raise UnknownDetectionError(f"no detection {detection_id!r} in the catalog; known: {known}")

    def enabled(self) -> tuple[Detection, ...]:
        return tuple(d for d in self.detections if d.enabled)

    def select(self, ids: Iterable[str] | None = None) -> tuple[Detection, ...]:
        """The detections with these ids (all enabled ones when None), in catalog order."""
        if ids is None:
            return self.enabled()
        wanted = list(ids)
        for detection_id in wanted:
            self.get(detection_id)
        return tuple(d for d in self.detections if d.id in wanted)


@cache
def load_catalog() -> Catalog:
    """The project's catalog, read and compiled once per process."""
    return catalog_from(resources.files(CATALOG_PACKAGE))


def catalog_digest() -> str:
    """A short hash of every detection's id and version: the detections asset's code version."""
    identity = ",".join(f"{d.id}@{d.version}" for d in load_catalog())
    return hashlib.sha256(identity.encode()).hexdigest()[:12]


def catalog_from(root: Traversable) -> Catalog:
    detections: list[Detection] = []
    for folder, loader in (("sigma", _sigma_detections), ("stateful", _stateful_detection)):
        directory = root.joinpath(folder)
        if not directory.is_dir():
            continue
        for file in sorted(directory.iterdir(), key=lambda f: f.name):
            if file.name.endswith((".yml", ".yaml")):
                detections.extend(loader(file.read_text(encoding="utf-8"), f"{folder}/{file.name}"))
    seen: dict[str, str] = {}
    for detection in detections:
        if detection.id in seen:
            raise CatalogError(
                f"{detection.source}: detection id {detection.id!r} is also used by "
                f"{seen[detection.id]}; ids must be unique"
            )
        seen[detection.id] = detection.source
    return Catalog(tuple(sorted(detections, key=lambda d: d.id)))


def _sigma_detections(text: str, source: str) -> list[Detection]:
    try:
        collection = SigmaCollection.from_yaml(text)
        collection.resolve_rule_references()
    except (SigmaError, yaml.YAMLError) as error:
        raise CatalogError(f"{source}: not a valid Sigma rule: {error}") from error
    found = []
    for rule in collection.rules:
        block = rule.custom_attributes.get(BLOCK)
        if block is None:
            continue  # a base rule that a correlation in the same file counts
        try:
            found.extend(_sigma_detection(rule, block, source))
        except SigmaError as error:
            raise CatalogError(f"{source}: not a valid Sigma rule: {error}") from error
    if not found:
        raise CatalogError(f"{source}: no rule carries an {BLOCK} block, so nothing is detected")
    return found


def _sigma_detection(
    rule: SigmaRule | SigmaCorrelationRule, block: Mapping[str, Any], source: str
) -> list[Detection]:
    """The detection one Sigma rule (or correlation) with an okta_pipeline block describes."""
    if isinstance(rule, SigmaCorrelationRule):
        threshold = compile_correlation(rule, source)
        logic: Logic = threshold
        fields = [*fields_read(counted_rule(rule, source)), *threshold.group_by]
        if threshold.distinct_field:
            fields.append(threshold.distinct_field)
        entity = tuple(block.get("entity", threshold.group_by))
    elif isinstance(rule, SigmaRule):
        logic = compile_rule(rule)
        fields = fields_read(rule)
        entity = tuple(block.get("entity", ()))
    else:
        return []
    metadata = {
        "name": rule.name,
        "title": rule.title,
        "description": rule.description,
        "level": rule_level(rule),
        "tags": rule_tags(rule),
        "falsepositives": list(getattr(rule, "falsepositives", []) or []),
    }
    return [
        _detection(
            metadata=metadata, block=block, logic=logic, fields=fields, entity=entity, source=source
        )
    ]


def _stateful_detection(text: str, source: str) -> list[Detection]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise CatalogError(f"{source}: not valid YAML: {error}") from error
    if not isinstance(document, dict) or not isinstance(document.get(BLOCK), dict):
        raise CatalogError(f"{source}: a stateful detection is a mapping with an {BLOCK} block")
    block = document[BLOCK]
    name = block.get("function")
    if name not in STATEFUL_FUNCTIONS:
        known = ", ".join(sorted(STATEFUL_FUNCTIONS))
        raise CatalogError(f"{source}: function {name!r} is not one of {known}")
    logic = StatefulLogic(
        function_name=name,
        function=STATEFUL_FUNCTIONS[name],
        parameters=dict(block.get("parameters") or {}),
        why_not_sigma=_required(block, "why_not_sigma", source),
    )
    metadata = {key: document.get(key) for key in ("name", "title", "description", "level")}
    metadata["tags"] = [str(t) for t in document.get("tags") or []]
    metadata["falsepositives"] = [str(f) for f in document.get("falsepositives") or []]
    detection = _detection(
        metadata=metadata,
        block=block,
        logic=logic,
        fields=list(block.get("fields") or []),
        entity=tuple(block.get("entity") or ()),
        source=source,
    )
    return [replace(detection, stateful_horizon=_horizon(block.get("horizon"), source))]


def _horizon(value: Any, source: str) -> timedelta:
    """A stateful detection's `horizon` ("12h", "60m"): how long after a window its findings
    may depend on that window's events (re-checked when the window changes), at most a day."""
    if value is None:
        return timedelta(0)
    match = _DURATION.fullmatch(str(value).strip())
    if match is None:
        raise CatalogError(f"{source}: {BLOCK}.horizon is a duration like 60m or 12h")
    amount = int(match[1])
    horizon = timedelta(hours=amount) if match[2] == "h" else timedelta(minutes=amount)
    if horizon > MAX_HORIZON:
        raise CatalogError(f"{source}: {BLOCK}.horizon is at most 24h")
    return horizon


def _detection(
    *,
    metadata: Mapping[str, Any],
    block: Mapping[str, Any],
    logic: Logic,
    fields: list[str],
    entity: tuple[str, ...],
    source: str,
) -> Detection:
    name = metadata.get("name")
    if not isinstance(name, str) or not name.startswith(("okta_", "aws_")):
        raise CatalogError(
            f"{source}: the rule's name is its stable id and starts with okta_ (or aws_ for a "
            "detection of AWS activity)"
        )
    sources = tuple(str(s) for s in block.get("sources") or ("okta",))
    if not set(sources) <= set(SOURCES):
        raise CatalogError(f"{source}: {BLOCK}.sources are among {', '.join(SOURCES)}")
    version = block.get("version")
    if not isinstance(version, int) or version < 1:
        raise CatalogError(f"{source}: {BLOCK}.version must be a positive integer")
    level = metadata.get("level")
    try:
        severity = Severity(str(level))
    except ValueError:
        raise CatalogError(f"{source}: level {level!r} is not a Sigma level") from None
    if not entity:
        raise CatalogError(f"{source}: {BLOCK}.entity names the fields that identify the entity")
    tags = [str(t).lower() for t in metadata.get("tags") or []]
    tactics = tuple(
        TACTICS[t.removeprefix("attack.").replace("_", "-")]
        for t in tags
        if t.removeprefix("attack.").replace("_", "-") in TACTICS
    )
    techniques = tuple(
        t.removeprefix("attack.").upper()
        for t in tags
        if t.startswith("attack.t") and t[8:9].isdigit()
    )
    if not tactics or not techniques:
        raise CatalogError(f"{source}: tags need an ATT&CK tactic and technique (attack.t1078)")
    examples = tuple(_example(e, source) for e in block.get("examples") or [])
    exceptions = _exceptions(block.get("exceptions"), source)
    if any(e.suppressed for e in examples) and not exceptions:
        raise CatalogError(f"{source}: an example expects suppressed but there are no exceptions")
    if not any(e.expect_finding for e in examples) or all(e.expect_finding for e in examples):
        raise CatalogError(f"{source}: {BLOCK}.examples need a positive and a negative example")
    return Detection(
        id=name,
        version=version,
        title=_required(metadata, "title", source),
        description=_required(metadata, "description", source).strip(),
        severity=severity,
        tactics=tactics,
        techniques=techniques,
        fields=tuple(dict.fromkeys([*fields, *entity])),
        false_positives=tuple(str(f) for f in metadata.get("falsepositives") or []),
        response=_required(block, "response", source),
        entity=entity,
        logic=logic,
        examples=examples,
        source=source,
        summary=block.get("summary"),
        sources=sources,
        enabled=bool(block.get("enabled", True)),
        exceptions=exceptions,
    )


def _exceptions(value: Any, source: str) -> tuple[DetectionException, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise CatalogError(f"{source}: {BLOCK}.exceptions is a list")
    try:
        parsed = tuple(DetectionException.parse(item, source) for item in value)
    except ExceptionError as error:
        raise CatalogError(str(error)) from None
    names = [e.name for e in parsed]
    if len(set(names)) != len(names):
        raise CatalogError(f"{source}: exception names must be unique within a detection")
    return parsed


EXPECTATIONS = ("finding", "nothing", "suppressed")


def _example(value: Any, source: str) -> Example:
    if not isinstance(value, dict) or value.get("expect") not in EXPECTATIONS:
        raise CatalogError(
            f"{source}: each example has expect: finding, nothing or suppressed (a finding "
            "one of the detection's exceptions suppresses)"
        )
    events = value.get("events")
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events) or not events:
        raise CatalogError(f"{source}: example {value.get('name')!r} needs a list of events")
    return Example(
        name=str(value.get("name") or value["expect"]),
        expect_finding=value["expect"] == "finding",
        events=tuple(events),
        suppressed=value["expect"] == "suppressed",
    )


def _required(mapping: Mapping[str, Any], key: str, source: str) -> str:
    value = mapping.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{source}: {key} is required")
    return value.strip()
