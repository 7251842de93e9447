"""What a detection is: metadata an analyst reads, and one of three kinds of logic."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from okta_pipeline.lib.windows import WINDOW

if TYPE_CHECKING:
    from okta_pipeline.lib.detections.exceptions import DetectionException
    from okta_pipeline.lib.detections.search import EventSearch


class Severity(StrEnum):
    INFORMATIONAL = "informational"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Kind(StrEnum):
    SINGLE_EVENT = "single_event"
    THRESHOLD = "threshold"
    STATEFUL = "stateful"


@dataclass(frozen=True)
class SingleEventLogic:
    """A Sigma rule compiled to an OpenSearch query: every matching event is evidence."""

    query: dict[str, Any]
    lucene: str


@dataclass(frozen=True)
class ThresholdLogic:
    """A Sigma correlation: events matching `query`, counted per entity over `span`.

    `distinct_field` set: the number of distinct values of that field (value_count);
    otherwise the number of events (event_count). Fires when the count over
    [window end - span, window end) reaches `minimum` and it had not at the window's start.
    """

    query: dict[str, Any]
    lucene: str
    group_by: tuple[str, ...]
    span: timedelta
    minimum: int
    distinct_field: str | None = None


@dataclass(frozen=True)
class EvidenceEvent:
    """One event a finding cites: its id and time in its source (`okta` or `cloudtrail`)."""

    uuid: str
    published: datetime
    source: str = "okta"


@dataclass(frozen=True)
class Match:
    """What a detection found: an entity in a window, with the events that show it."""

    window: datetime
    entity: Mapping[str, str]
    events: tuple[EvidenceEvent, ...]
    count: int | None = None
    """How many events matched, when more than the evidence holds."""
    details: Mapping[str, Any] = field(default_factory=dict)


StatefulFunction = Callable[["EventSearch", datetime, datetime, Mapping[str, Any]], list[Match]]


@dataclass(frozen=True)
class StatefulLogic:
    """Python that reads the history it needs from OpenSearch (sequences, novelty, travel)."""

    function_name: str
    function: StatefulFunction
    parameters: Mapping[str, Any]
    why_not_sigma: str


Logic = SingleEventLogic | ThresholdLogic | StatefulLogic


@dataclass(frozen=True)
class Example:
    """Events that must (or must not) make the detection fire; the tests run them on a node."""

    name: str
    expect_finding: bool
    events: tuple[Mapping[str, Any], ...]
    suppressed: bool = False
    """The detection fires but one of its catalog exceptions suppresses the finding."""


@dataclass(frozen=True)
class Detection:
    id: str
    version: int
    title: str
    description: str
    severity: Severity
    tactics: tuple[str, ...]
    techniques: tuple[str, ...]
    fields: tuple[str, ...]
    false_positives: tuple[str, ...]
    response: str
    entity: tuple[str, ...]
    logic: Logic
    examples: tuple[Example, ...]
    source: str
    """The catalog file the detection comes from, relative to the catalog folder."""
    summary: str | None = None
    """A format string over evidence fields, e.g. "{actor.alternateId} from {client.ipAddress}"."""
    enabled: bool = True
    sources: tuple[str, ...] = ("okta",)
    """What it reads: `okta`, and `cloudtrail` for a cross-source detection."""
    exceptions: tuple[DetectionException, ...] = ()
    """What the catalog knows to be benign for it (a deployment adds or overrides these)."""
    stateful_horizon: timedelta = timedelta(0)
    """How long after a window a stateful detection's findings may depend on its events."""

    @property
    def horizon(self) -> timedelta:
        """How far after a window its events can change findings: a threshold's span (a late
        event moves a crossing), a stateful detection's declared horizon, none for a single
        event. Findings that far after a re-evaluated window are checked again."""
        if isinstance(self.logic, ThresholdLogic):
            return self.logic.span - WINDOW
        return self.stateful_horizon

    @property
    def cross_source(self) -> bool:
        return "cloudtrail" in self.sources

    @property
    def kind(self) -> Kind:
        if isinstance(self.logic, SingleEventLogic):
            return Kind.SINGLE_EVENT
        if isinstance(self.logic, ThresholdLogic):
            return Kind.THRESHOLD
        return Kind.STATEFUL

    @property
    def queries(self) -> tuple[dict[str, Any], ...]:
        """The OpenSearch queries this detection sends, for validation against a node."""
        if isinstance(self.logic, SingleEventLogic | ThresholdLogic):
            return (self.logic.query,)
        return ()
