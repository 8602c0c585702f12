"""Benchmarks, run by `make bench`: they print ratios against baselines measured in the same run."""
