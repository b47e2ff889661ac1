"""Benchmarks: `python -m benchmarks.<name>` (see README.md here)."""
