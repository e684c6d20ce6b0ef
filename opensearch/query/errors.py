"""The one error type the query engine raises for bad input (the API layer answers HTTP 400)."""

from __future__ import annotations


class QuerySyntaxError(ValueError):
    """A query that cannot be parsed or cannot be run safely.

    ``position`` is the 1-based column of the offending input, ``expected`` a short human
    description of what would have been valid there (or None), ``reason`` the message without
    the position. ``str(err)`` reads like ``unexpected ')' at column 17; expected a value``.
    """

    def __init__(self, reason: str, position: int, expected: str | None = None, query: str = "") -> None:
        self.reason = reason
        self.position = position
        self.expected = expected
        self.query = query
        message = f"{reason} at column {position}"
        if expected:
            message += f"; expected {expected}"
        super().__init__(message)

    def to_dict(self) -> dict[str, object]:
        """The JSON body the API returns with HTTP 400."""
        return {"error": str(self), "position": self.position, "expected": self.expected}
