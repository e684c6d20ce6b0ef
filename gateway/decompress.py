"""Streaming decompression with hard caps: the gateway's defence against compression bombs.

Why streaming and capped: a 1 MB gzip body can inflate to 1 GB, and ten thousand tiny gzip
members concatenated cost a decompressor set-up each. We inflate in bounded steps
(``_STEP`` bytes of output at a time) and stop the moment the output size, the
output/input ratio or the member count passes its limit, so memory stays bounded by the
limit, never by what the client claims or sends.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

try:  # zstd is optional (extra "zstd"); without it, zstd bodies get 415.
    import zstandard as _zstd
except ImportError:  # pragma: no cover - exercised only without the extra
    _zstd = None

_STEP = 64 * 1024  # max bytes inflated per decompressor call
_ZSTD_SLICE = 128  # zstd cannot cap output per call, so feed it tiny slices (≤ ~4 MB out each)


class DecompressError(Exception):
    """The body cannot be decoded; ``status`` is the HTTP answer and the message says why."""

    status = 400


class BadEncodingError(DecompressError):
    status = 400


class TooLargeError(DecompressError):
    status = 413


class UnsupportedEncodingError(DecompressError):
    status = 415


@dataclass(frozen=True, slots=True)
class DecompressLimits:
    """Caps on one body; see GatewaySettings for the defaults and why they are what they are."""

    max_output: int = 100 * 1024 * 1024
    max_ratio: float = 200.0
    ratio_grace: int = 1024 * 1024
    max_members: int = 64


def supported_encodings() -> tuple[str, ...]:
    """Content-Encoding values this build accepts (zstd only with the zstandard extra)."""
    return ("identity", "gzip", "x-gzip", "zstd") if _zstd is not None else ("identity", "gzip", "x-gzip")


def normalize_encoding(header: str | None) -> str:
    """Map a Content-Encoding header to one of ``supported_encodings()`` or raise 415."""
    value = (header or "identity").strip().lower() or "identity"
    if "," in value:
        raise UnsupportedEncodingError(
            f"Content-Encoding: stacked encodings ({value!r}) are not supported; send one of "
            + ", ".join(supported_encodings())
        )
    if value not in supported_encodings():
        raise UnsupportedEncodingError(
            f"Content-Encoding: {value!r} is not supported; send one of " + ", ".join(supported_encodings())
        )
    return "gzip" if value == "x-gzip" else value


class CappedDecompressor:
    """Incremental decoder: ``feed()`` wire chunks, get decoded chunks, ``finish()`` at the end.

    Raises TooLargeError (413) as soon as a cap is passed and BadEncodingError (400) for a
    corrupt or truncated stream. Pure and synchronous so it is tested without a server.
    """

    def __init__(self, encoding: str, limits: DecompressLimits) -> None:
        self.encoding = normalize_encoding(encoding)
        self.limits = limits
        self.bytes_in = 0
        self.bytes_out = 0
        self.members = 0
        self._obj: Any = None
        self._member_open = False

    # -- caps -------------------------------------------------------------------------------
    def _account(self, produced: int) -> None:
        self.bytes_out += produced
        lim = self.limits
        if self.bytes_out > lim.max_output:
            raise TooLargeError(f"body: decompressed size exceeds the limit of {lim.max_output} bytes")
        if self.bytes_out > lim.ratio_grace and self.bytes_out > lim.max_ratio * max(self.bytes_in, 1):
            raise TooLargeError(
                f"body: compression ratio exceeds the limit of {lim.max_ratio:g}:1 "
                f"({self.bytes_out} bytes from {self.bytes_in})"
            )

    def _new_member(self) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            kind = "zstd frames" if self.encoding == "zstd" else "gzip members"
            raise TooLargeError(f"body: more than {self.limits.max_members} {kind}")
        if self.encoding == "gzip":
            self._obj = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        else:
            self._obj = _zstd.ZstdDecompressor().decompressobj()
        self._member_open = True

    # -- public -----------------------------------------------------------------------------
    def feed(self, data: bytes) -> Iterator[bytes]:
        """Decode one wire chunk; yields decoded pieces, each at most ~64 KB."""
        if self.encoding == "identity":
            self.bytes_in += len(data)
            if data:
                self._account(len(data))
                yield data
            return
        if self.encoding == "gzip":
            yield from self._feed_gzip(data)
        else:
            yield from self._feed_zstd(data)

    def _feed_gzip(self, data: bytes) -> Iterator[bytes]:
        # bytes_in grows by what zlib actually consumed, not by the chunk size: otherwise one
        # big read (aiohttp can hand us ~1 MB at once) would license 200 MB of output first
        while data:
            if not self._member_open:
                self._new_member()
            obj = self._obj
            buf = data
            while True:
                try:
                    out = obj.decompress(buf, _STEP)
                except zlib.error as exc:
                    raise BadEncodingError(f"body: invalid gzip data ({exc})") from None
                self.bytes_in += len(buf) - len(obj.unconsumed_tail) - (len(obj.unused_data) if obj.eof else 0)
                if out:
                    self._account(len(out))
                    yield out
                if obj.eof or not obj.unconsumed_tail:
                    break
                buf = obj.unconsumed_tail
            if obj.eof:
                self._member_open = False
                data = obj.unused_data
            else:
                data = b""

    def _feed_zstd(self, data: bytes) -> Iterator[bytes]:
        view = memoryview(data)
        pos = 0
        while pos < len(view):
            if not self._member_open:
                self._new_member()
            obj = self._obj
            piece = bytes(view[pos : pos + _ZSTD_SLICE])
            pos += len(piece)
            self.bytes_in += len(piece)
            try:
                out = obj.decompress(piece)
            except _zstd.ZstdError as exc:
                raise BadEncodingError(f"body: invalid zstd data ({exc})") from None
            if out:
                self._account(len(out))
                yield out
            if obj.eof:
                self._member_open = False
                rest = obj.unused_data
                if rest:
                    self.bytes_in -= len(rest)  # counted again when re-fed
                    # unused bytes belong to the next frame: push them back into the stream
                    view = memoryview(bytes(rest) + bytes(view[pos:]))
                    pos = 0

    def finish(self) -> None:
        """Call after the last chunk: a member cut short is a 400, not silently accepted."""
        if self.encoding != "identity" and self._member_open:
            raise BadEncodingError(f"body: {self.encoding} stream is truncated")


async def decompress_capped(
    chunks: AsyncIterable[bytes], encoding: str, limits: DecompressLimits
) -> AsyncIterator[bytes]:
    """Decode an async stream of wire chunks under ``limits`` (see :class:`CappedDecompressor`)."""
    dec = CappedDecompressor(encoding, limits)
    async for chunk in chunks:
        for piece in dec.feed(chunk):
            yield piece
    dec.finish()


def decompress_capped_bytes(data: bytes, encoding: str, limits: DecompressLimits) -> bytes:
    """Whole-buffer convenience for tests and tools."""
    dec = CappedDecompressor(encoding, limits)
    out = b"".join(dec.feed(data))
    dec.finish()
    return out


async def read_capped(content: Any, dec: Any, *, max_wire: int, timeout_s: float) -> tuple[bytes, int]:
    """Stream ``content`` (aiohttp's StreamReader) through ``dec``; (decoded bytes, wire bytes).

    The one body-reading loop of every ingest door: the wire cap and the time limit apply before
    a byte is decoded, and ``dec`` (a :class:`CappedDecompressor` or any object with ``feed`` and
    ``finish``) caps the decoded size.
    """
    pieces: list[bytes] = []
    wire = 0
    async with asyncio.timeout(timeout_s):
        while True:
            chunk = await content.readany()
            if not chunk:
                break
            wire += len(chunk)
            if wire > max_wire:
                raise TooLargeError(f"body: more than {max_wire} bytes (batch limit)")
            pieces.extend(dec.feed(chunk))
        dec.finish()
    return b"".join(pieces), wire
