"""Offline evaluation harness: datasets, splits, baselines, metrics, statistics, reports."""

__all__: list[str] = []
