"""Outbound delivery: error classes, retry back-off and per-platform channel adapters."""
