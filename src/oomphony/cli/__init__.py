"""The command line: `oomphony run | record | doctor | ...` (see `command.main`)."""

from oomphony.cli.command import main

__all__ = ["main"]
