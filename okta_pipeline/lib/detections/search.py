"""Reading events for detections: paged scans, composite aggregations, and evidence.

One `EventSearch` reads one source's daily indices: Okta's (id `uuid`, time `published`) by
default, CloudTrail's with `id_field="eventID", time_field="eventTime"`. A `Hit`'s `uuid` and
`published` are the source's own id and time. Cross-source detections reach the CloudTrail
search and the identity links through the Okta search's `cloudtrail` and `sessions_index`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opensearchpy import OpenSearch

from okta_pipeline.lib.detections.model import EvidenceEvent
from okta_pipeline.lib.opensearch.derived_fields import NAMESPACE

PAGE_SIZE = 1000
COMPOSITE_PAGE_SIZE = 10_000
"""Composite pages are large: each page is a pass over the matching events."""
EVIDENCE_CAP = 100
"""At most this many evidence uuids per finding (the count says how many matched)."""


def time_range(start: datetime, end: datetime, field: str = "published") -> dict[str, Any]:
    """The half-open range [start, end) on `field`."""
    return {"range": {field: {"gte": iso(start), "lt": iso(end)}}}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_time(value: str | int | float) -> datetime:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def get_path(source: Mapping[str, Any], path: str) -> Any:
    """A dotted path's value; through lists of objects, the list of values (None when absent)."""
    value: Any = source
    for key in path.split("."):
        if isinstance(value, list):
            found = [item.get(key) for item in value if isinstance(item, dict)]
            value = [item for item in found if item is not None] or None
        elif isinstance(value, dict):
            value = value.get(key)
        else:
            return None
        if value is None:
            return None
    return value


@dataclass(frozen=True)
class Hit:
    """One record from a scan: its id and time in its source (`uuid` and `published` for
    Okta), and the fields asked for."""

    uuid: str
    published: datetime
    values: Mapping[str, Any]

    def get(self, path: str) -> Any:
        return self.values.get(path)

    source: str = "okta"

    @property
    def evidence(self) -> EvidenceEvent:
        return EvidenceEvent(self.uuid, self.published, self.source)


class EventSearch:
    """Searches over one source's daily indices (Okta's unless told otherwise)."""

    def __init__(
        self,
        client: OpenSearch,
        index: str,
        id_field: str = "uuid",
        time_field: str = "published",
        source: str = "okta",
        cloudtrail: EventSearch | None = None,
        sessions_index: str | None = None,
    ) -> None:
        self.client = client
        self.index = index
        self.id_field = id_field
        self.time_field = time_field
        self.source = source
        self.cloudtrail = cloudtrail
        """CloudTrail's records, for cross-source detections (None: not configured)."""
        self.sessions_index = sessions_index
        """The identity links' indices (AWS session -> Okta user and session)."""
        self._requests = 0

    @property
    def requests(self) -> int:
        """Requests sent by this search and the CloudTrail search it carries."""
        return self._requests + (self.cloudtrail.requests if self.cloudtrail else 0)

    def range(self, start: datetime, end: datetime) -> dict[str, Any]:
        return time_range(start, end, self.time_field)

    def search(self, body: dict[str, Any], index: str | None = None) -> dict[str, Any]:
        self._requests += 1
        response: dict[str, Any] = self.client.search(
            index=index or self.index,
            body=body,
            params={"ignore_unavailable": "true", "allow_no_indices": "true"},
        )
        return response

    def scan(
        self,
        query: dict[str, Any],
        start: datetime,
        end: datetime,
        fields: Sequence[str] = (),
    ) -> Iterator[Hit]:
        """Every event matching `query` in [start, end), oldest first, with `fields`.

        Fields of the derived namespace are read from doc values (they are not in _source).
        """
        raw, derived = _split(fields)
        body: dict[str, Any] = {
            "size": PAGE_SIZE,
            "query": {"bool": {"filter": [query, self.range(start, end)]}},
            "sort": [{self.time_field: "asc"}, {self.id_field: "asc"}],
            "_source": [self.id_field, self.time_field, *raw],
            "track_total_hits": False,
        }
        if derived:
            body["docvalue_fields"] = derived
        while True:
            hits = self.search(body)["hits"]["hits"]
            for hit in hits:
                source = hit["_source"]
                yield Hit(
                    str(source.get(self.id_field, hit["_id"])),
                    parse_time(source[self.time_field]),
                    _values(hit, raw, derived),
                    self.source,
                )
            if len(hits) < PAGE_SIZE:
                return
            body["search_after"] = hits[-1]["sort"]

    def composite(
        self,
        query: dict[str, Any],
        start: datetime,
        end: datetime,
        sources: list[dict[str, Any]],
        aggregations: dict[str, Any] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every bucket of a composite aggregation over the matching events, page by page."""
        composite: dict[str, Any] = {"size": COMPOSITE_PAGE_SIZE, "sources": sources}
        body: dict[str, Any] = {
            "size": 0,
            "query": {"bool": {"filter": [query, self.range(start, end)]}},
            "aggs": {"groups": {"composite": composite}},
        }
        if aggregations:
            body["aggs"]["groups"]["aggs"] = aggregations
        while True:
            groups = self.search(body).get("aggregations", {}).get("groups", {})
            buckets = groups.get("buckets", [])
            yield from buckets
            after = groups.get("after_key")
            if not buckets or after is None or len(buckets) < COMPOSITE_PAGE_SIZE:
                return
            composite["after"] = after

    def values_of(self, ids: Sequence[str], fields: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The values of `fields` in the events with these ids (derived fields from doc
        values), by id; ids not indexed are absent."""
        raw, derived = _split(fields)
        found: dict[str, dict[str, Any]] = {}
        unique = sorted(set(ids))
        for offset in range(0, len(unique), PAGE_SIZE):
            batch = unique[offset : offset + PAGE_SIZE]
            body: dict[str, Any] = {
                "size": len(batch),
                "query": {"terms": {self.id_field: batch}},
                "_source": [self.id_field, *raw],
            }
            if derived:
                body["docvalue_fields"] = derived
            for hit in self.search(body)["hits"]["hits"]:
                found[str(hit["_source"].get(self.id_field, hit["_id"]))] = _values(
                    hit, raw, derived
                )
        return found

    def evidence(
        self, requests: Sequence[tuple[dict[str, Any], datetime, datetime]]
    ) -> list[tuple[list[EvidenceEvent], int]]:
        """For each (query, start, end): the first matching events (up to the cap) and the
        total, in one multi-search."""
        if not requests:
            return []
        lines: list[dict[str, Any]] = []
        for query, start, end in requests:
            lines.append({"index": self.index, "ignore_unavailable": True})
            lines.append(
                {
                    "size": EVIDENCE_CAP,
                    "query": {"bool": {"filter": [query, self.range(start, end)]}},
                    "sort": [{self.time_field: "asc"}, {self.id_field: "asc"}],
                    "_source": [self.id_field, self.time_field],
                    "track_total_hits": True,
                }
            )
        self._requests += 1
        responses = self.client.msearch(body=lines)["responses"]
        results = []
        for response in responses:
            if "error" in response:
                raise RuntimeError(f"an evidence search failed: {response['error']}")
            hits = response["hits"]["hits"]
            events = [
                EvidenceEvent(
                    str(h["_source"][self.id_field]),
                    parse_time(h["_source"][self.time_field]),
                    self.source,
                )
                for h in hits
            ]
            results.append((events, int(response["hits"]["total"]["value"])))
        return results


def _split(fields: Sequence[str]) -> tuple[list[str], list[str]]:
    """Fields read from _source, and derived fields read from doc values (not in _source)."""
    derived = [f for f in fields if f.startswith(f"{NAMESPACE}.")]
    return [f for f in fields if f not in derived], derived


def _values(hit: Mapping[str, Any], raw: Sequence[str], derived: Sequence[str]) -> dict[str, Any]:
    values = {f: get_path(hit["_source"], f) for f in raw}
    for name in derived:
        found = hit.get("fields", {}).get(name)
        values[name] = found[0] if found and len(found) == 1 else found
    return values


CLOUDTRAIL = "cloudtrail"
"""The source name of CloudTrail records (evidence, hits); Okta's is `okta`."""


def cloudtrail_search(client: OpenSearch, index: str) -> EventSearch:
    """Searches over CloudTrail's daily indices: id `eventID`, time `eventTime`."""
    return EventSearch(client, index, "eventID", "eventTime", CLOUDTRAIL)


def terms(field: str, values: Sequence[Any]) -> dict[str, Any]:
    return {"terms": {field: list(values)}}


def term(field: str, value: Any) -> dict[str, Any]:
    return {"term": {field: value}}


def any_term_ignoring_case(field: str, values: Sequence[str]) -> dict[str, Any]:
    """A keyword equal to one of `values` whatever its case (Okta keeps a login's case as
    typed: `Ana.Lopez@Corp.com` is `ana.lopez@corp.com`). Keep `values` within the cluster's
    clause limit (1,024 by default)."""
    return {
        "bool": {
            "should": [{"term": {field: {"value": v, "case_insensitive": True}}} for v in values],
            "minimum_should_match": 1,
        }
    }
