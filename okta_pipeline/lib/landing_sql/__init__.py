"""SQL over the landing zone, free of Dagster: DuckDB views of the landed windows, example
queries, and result formats."""
