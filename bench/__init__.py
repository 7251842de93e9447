"""Benchmarks that measure the pipeline side by side with baselines in the same run."""
