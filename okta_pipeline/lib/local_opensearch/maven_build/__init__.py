"""Build OpenSearch plugins from their sources with Maven where no plugin zip can be had."""
