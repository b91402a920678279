"""Benchmarks that print one table each; see benchmarks/README.md."""
