"""One error hierarchy for the whole show.

Library code raises these; only the CLI turns them into a line and an exit status:
`UsageError` (bad input the user can fix) maps to exit 2, every other
`OomphonyError` to exit 1.
"""


class OomphonyError(Exception):
    """Base of every error oomphony raises on purpose."""


class UsageError(OomphonyError):
    """Bad input from the user: a malformed size, an unknown setlist, an unwritable path."""


class SetlistError(UsageError):
    """A setlist that does not validate; the message names file, line and expectation."""


class TraceError(UsageError):
    """A trace file that cannot be read or written."""


class CageError(OomphonyError):
    """A memory cgroup could not be made, filled or removed."""


class TelemetryError(OomphonyError):
    """A telemetry source failed in a way that cannot degrade to a missing value."""


class AudioError(OomphonyError):
    """The audio stream could not be opened or fed."""


class DisplayError(OomphonyError):
    """No display could be opened."""
