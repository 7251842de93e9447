"""Sigma rules to OpenSearch queries, through pySigma's OpenSearch backend."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from functools import cache

from sigma.backends.opensearch.opensearch import OpensearchLuceneBackend
from sigma.correlations import (
    SigmaCorrelationCondition,
    SigmaCorrelationConditionOperator,
    SigmaCorrelationRule,
    SigmaCorrelationType,
)
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule

from okta_pipeline.lib.detections.model import SingleEventLogic, ThresholdLogic

WINDOW = timedelta(minutes=5)


class CatalogError(ValueError):
    """A detection in the catalog is malformed; the message names the file and the fix."""


@cache
def _backend() -> OpensearchLuceneBackend:
    return OpensearchLuceneBackend()


def compile_rule(rule: SigmaRule) -> SingleEventLogic:
    """The rule as OpenSearch query DSL (a Lucene query string) and as plain Lucene."""
    backend = _backend()
    # A rule counted by a correlation is marked as producing no output of its own; a copy made
    # through the constructor has output enabled again.
    rule = dataclasses.replace(rule)
    (lucene,) = backend.convert_rule(rule)
    (dsl,) = backend.convert_rule(rule, "dsl_lucene")
    return SingleEventLogic(query=dsl["query"], lucene=str(lucene))


def compile_correlation(rule: SigmaCorrelationRule, source: str) -> ThresholdLogic:
    """An event_count or value_count correlation over one base rule."""
    if rule.type not in (SigmaCorrelationType.EVENT_COUNT, SigmaCorrelationType.VALUE_COUNT):
        raise CatalogError(
            f"{source}: correlation type {rule.type.name.lower()} is not supported; "
            "use event_count or value_count"
        )
    base = counted_rule(rule, source)
    if not rule.group_by:
        raise CatalogError(f"{source}: a threshold rule needs group-by (the entity)")
    span = timedelta(seconds=rule.timespan.seconds)
    if span < WINDOW or span % WINDOW:
        raise CatalogError(f"{source}: timespan must be a whole number of 5-minute windows")
    condition = rule.condition
    if not isinstance(condition, SigmaCorrelationCondition):
        raise CatalogError(f"{source}: a threshold condition compares one count (gte or gt)")
    if condition.op == SigmaCorrelationConditionOperator.GTE:
        minimum = condition.count
    elif condition.op == SigmaCorrelationConditionOperator.GT:
        minimum = condition.count + 1
    else:
        raise CatalogError(f"{source}: a threshold condition is gte or gt")
    distinct = condition.fieldref if rule.type == SigmaCorrelationType.VALUE_COUNT else None
    if rule.type == SigmaCorrelationType.VALUE_COUNT and not distinct:
        raise CatalogError(f"{source}: value_count needs condition.field")
    counted = compile_rule(base)
    return ThresholdLogic(
        query=counted.query,
        lucene=counted.lucene,
        group_by=tuple(rule.group_by),
        span=span,
        minimum=int(minimum),
        distinct_field=str(distinct) if distinct else None,
    )


def counted_rule(rule: SigmaCorrelationRule, source: str) -> SigmaRule:
    """The one plain Sigma rule whose events a threshold rule counts."""
    if not rule.rules or len(rule.rules) != 1:
        raise CatalogError(f"{source}: a threshold rule counts the events of exactly one rule")
    base = rule.rules[0].rule
    if not isinstance(base, SigmaRule):
        raise CatalogError(f"{source}: the counted rule must be a plain Sigma rule")
    return base


def fields_read(rule: SigmaRule) -> list[str]:
    """The event fields a rule's detection looks at, in order of first use."""
    found: list[str] = []

    def visit(node: SigmaDetection | SigmaDetectionItem) -> None:
        if isinstance(node, SigmaDetectionItem):
            if node.field and node.field not in found:
                found.append(node.field)
            return
        for item in node.detection_items:
            visit(item)

    for detection in rule.detection.detections.values():
        visit(detection)
    return found


def rule_level(rule: SigmaRule | SigmaCorrelationRule) -> str | None:
    return rule.level.name.lower() if rule.level else None


def rule_tags(rule: SigmaRule | SigmaCorrelationRule) -> list[str]:
    return [f"{tag.namespace}.{tag.name}" for tag in rule.tags]
