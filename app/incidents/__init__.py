"""Incident use cases and the pure rules behind them. Nothing here imports Bolt."""
