"""Subcommands about networks: info, generate, convert."""

from __future__ import annotations


def register(subparsers) -> None:
    """Add the network subcommands (filled in with the generator)."""
