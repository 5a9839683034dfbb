"""Harness errors: one line each, naming the device and what went wrong."""


class BenchError(Exception):
    """A failure the user can act on (no device, delegate refused, run crashed, ...)."""
