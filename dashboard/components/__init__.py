"""Shared building blocks for pages: phase tiles, ticker items, formatting."""
