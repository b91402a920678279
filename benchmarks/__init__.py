"""Benchmarks: run as scripts; each prints a table."""
