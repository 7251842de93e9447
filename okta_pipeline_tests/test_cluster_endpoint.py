from __future__ import annotations

import pytest

from okta_pipeline.lib.cluster_endpoint import external_endpoint


def test_unset_url_means_the_local_node() -> None:
    assert external_endpoint({}) is None
    assert external_endpoint({"OPENSEARCH_URL": "  "}) is None


def test_credentials_from_variables_never_appear_in_url_or_repr() -> None:
    endpoint = external_endpoint(
        {
            "OPENSEARCH_URL": "https://search.example.com:443/",
            "OPENSEARCH_USERNAME": "pipeline",
            "OPENSEARCH_PASSWORD": "s3cret-value",
        }
    )
    assert endpoint is not None
    assert endpoint.url == "https://search.example.com:443"
    assert endpoint.auth == ("pipeline", "s3cret-value")
    assert "s3cret-value" not in repr(endpoint)


def test_credentials_embedded_in_the_url_are_moved_out_of_it() -> None:
    endpoint = external_endpoint({"OPENSEARCH_URL": "https://admin:hunter2@search.example.com"})
    assert endpoint is not None
    assert endpoint.url == "https://search.example.com"
    assert endpoint.auth == ("admin", "hunter2")
    assert "hunter2" not in repr(endpoint)


def test_a_bad_url_is_named_without_its_password() -> None:
    with pytest.raises(ValueError, match="must be an http") as failure:
        external_endpoint({"OPENSEARCH_URL": "ftp://admin:hunter2@search.example.com"})
    assert "hunter2" not in str(failure.value)
