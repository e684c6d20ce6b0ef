"""API errors: every refusal is JSON ``{"error": ...}`` plus optional detail members."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A client-visible error with its HTTP status; ``extra`` becomes members of the JSON body."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.message}
        out.update({k: v for k, v in self.extra.items() if v is not None})
        return out


def bad_request(message: str, **extra: Any) -> ApiError:
    return ApiError(400, message, **extra)
