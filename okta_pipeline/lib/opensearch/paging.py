"""Every hit of a search, page by page with `search_after`: a plain search stops at its `size`
(at most 10,000), and what it leaves out is missed silently."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from opensearchpy import OpenSearch

PAGE_SIZE = 1_000


def all_hits(
    client: OpenSearch,
    index: str,
    body: Mapping[str, Any],
    params: Mapping[str, str] | None = None,
    page_size: int = PAGE_SIZE,
) -> Iterator[dict[str, Any]]:
    """The hits of `body`, whose `sort` must end on a field unique per document."""
    if not body.get("sort"):
        raise ValueError("paging needs a sort that ends on a unique field")
    page: dict[str, Any] = {**body, "size": page_size, "track_total_hits": False}
    while True:
        hits = client.search(index=index, body=page, params=dict(params or {}))["hits"]["hits"]
        yield from hits
        if len(hits) < page_size:
            return
        page["search_after"] = hits[-1]["sort"]
