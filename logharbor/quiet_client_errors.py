"""No traceback in the log for a malformed HTTP request (issue 16 item 6: client errors are not
server faults, and a traceback per bad request is a log flood an attacker controls).

aiohttp answers a request line over 8 KB, a bad header or broken chunking with 400 itself, but
logs it on ``aiohttp.server`` at ERROR *with the traceback*. This filter keeps one line (what was
wrong, from whom) and drops the traceback for those protocol errors only; real server errors
keep theirs. It lives in logharbor/ because both the gateway and the ui install it (they never
import each other).
"""

from __future__ import annotations

import logging

from aiohttp.http_exceptions import HttpProcessingError

_NAME = "aiohttp.server"


class ClientProtocolErrors(logging.Filter):
    """Turn ``Error handling request`` records caused by a client's malformed HTTP into one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            record.msg = f"{record.getMessage()}: malformed HTTP ({exc.code}): {str(exc.message)[:200]}"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def install() -> None:
    """Idempotent: attach the filter to aiohttp's server logger."""
    logger = logging.getLogger(_NAME)
    if not any(isinstance(f, ClientProtocolErrors) for f in logger.filters):
        logger.addFilter(ClientProtocolErrors())
