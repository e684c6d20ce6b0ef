"""decompress_capped: caps on size, ratio and members; bad streams are 400, odd encodings 415."""

from __future__ import annotations

import gzip
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.decompress import (
    BadEncodingError,
    CappedDecompressor,
    DecompressLimits,
    TooLargeError,
    UnsupportedEncodingError,
    decompress_capped,
    decompress_capped_bytes,
    normalize_encoding,
)

LIMITS = DecompressLimits(max_output=1_000_000, max_ratio=50, ratio_grace=100_000, max_members=4)


def test_gzip_round_trip_and_member_count() -> None:
    data = gzip.compress(b"a" * 1000) + gzip.compress(b"b" * 10)
    dec = CappedDecompressor("gzip", LIMITS)
    out = b"".join(dec.feed(data))
    dec.finish()
    assert out == b"a" * 1000 + b"b" * 10
    assert dec.members == 2


def test_gzip_fed_byte_by_byte() -> None:
    payload = b'{"message":"x"}\n' * 100
    dec = CappedDecompressor("x-gzip", LIMITS)
    out = b"".join(piece for byte in gzip.compress(payload) for piece in dec.feed(bytes([byte])))
    dec.finish()
    assert out == payload


def test_output_cap_is_413_before_inflating_everything() -> None:
    bomb = gzip.compress(b"\0" * 50_000_000, compresslevel=9)  # ~50 KB on the wire
    limits = DecompressLimits(max_output=1_000_000, max_ratio=10_000, ratio_grace=0, max_members=4)
    dec = CappedDecompressor("gzip", limits)
    with pytest.raises(TooLargeError, match="decompressed size exceeds the limit of 1000000 bytes"):
        for _ in dec.feed(bomb):
            pass
    # stopped within one step of the cap, not after inflating 50 MB
    assert dec.bytes_out <= 1_000_000 + 64 * 1024


def test_ratio_cap_is_413() -> None:
    bomb = gzip.compress(b"\0" * 5_000_000, compresslevel=9)
    with pytest.raises(TooLargeError, match="compression ratio exceeds the limit of 50:1"):
        decompress_capped_bytes(bomb, "gzip", LIMITS)


def test_ratio_grace_lets_small_repetitive_batches_through() -> None:
    payload = b"x" * 90_000  # ratio ~ 900:1 but under the 100 KB grace
    assert decompress_capped_bytes(gzip.compress(payload), "gzip", LIMITS) == payload


def test_too_many_members_is_413() -> None:
    data = b"".join(gzip.compress(b"{}\n") for _ in range(10))
    with pytest.raises(TooLargeError, match="more than 4 gzip members"):
        decompress_capped_bytes(data, "gzip", LIMITS)


def test_corrupt_gzip_is_400() -> None:
    with pytest.raises(BadEncodingError, match="invalid gzip data"):
        decompress_capped_bytes(b"not gzip at all", "gzip", LIMITS)


def test_truncated_gzip_is_400() -> None:
    data = gzip.compress(b"hello world" * 100)
    with pytest.raises(BadEncodingError, match="truncated"):
        decompress_capped_bytes(data[: len(data) // 2], "gzip", LIMITS)


def test_garbage_after_member_is_400() -> None:
    with pytest.raises(BadEncodingError):
        decompress_capped_bytes(gzip.compress(b"ok") + b"trailing junk", "gzip", LIMITS)


def test_identity_counts_output() -> None:
    with pytest.raises(TooLargeError):
        decompress_capped_bytes(b"x" * 1_000_001, "identity", LIMITS)
    assert decompress_capped_bytes(b"abc", "", LIMITS) == b"abc"


@pytest.mark.parametrize("header", ["br", "deflate", "gzip, gzip", "compress", "x-unknown"])
def test_unknown_encodings_are_415(header: str) -> None:
    with pytest.raises(UnsupportedEncodingError, match="Content-Encoding"):
        normalize_encoding(header)


def test_zstd_round_trip_frames_and_bomb() -> None:
    import zstandard as zstd  # a dev dependency: the zstd path must be tested
    c = zstd.ZstdCompressor()
    assert decompress_capped_bytes(c.compress(b"one") + c.compress(b"two"), "zstd", LIMITS) == b"onetwo"
    with pytest.raises(TooLargeError):
        decompress_capped_bytes(c.compress(b"\0" * 20_000_000), "zstd", LIMITS)
    with pytest.raises(BadEncodingError):
        decompress_capped_bytes(b"\x28\xb5\x2f\xfd garbage", "zstd", LIMITS)


async def test_async_stream_wrapper() -> None:
    data = gzip.compress(b"line\n" * 1000)

    async def chunks():
        for i in range(0, len(data), 7):
            yield data[i : i + 7]

    out = b"".join([piece async for piece in decompress_capped(chunks(), "gzip", LIMITS)])
    assert out == b"line\n" * 1000


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000), st.sampled_from(["gzip", "identity", "zstd"]))
def test_arbitrary_bytes_never_escape_the_error_types(data: bytes, encoding: str) -> None:
    """Whatever arrives, the decoder either returns ≤ cap bytes or raises one of its own errors."""
    try:
        out = decompress_capped_bytes(data, encoding, LIMITS)
    except (BadEncodingError, TooLargeError):
        return
    except UnsupportedEncodingError:  # zstd without the zstandard extra
        assert encoding == "zstd"
        return
    assert len(out) <= LIMITS.max_output


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=5000), st.integers(min_value=1, max_value=9))
def test_gzip_round_trips_any_payload(payload: bytes, level: int) -> None:
    compressed = zlib.compress(payload, level)  # raw zlib is not gzip: must be refused
    with pytest.raises(BadEncodingError):
        decompress_capped_bytes(compressed, "gzip", LIMITS)
    assert decompress_capped_bytes(gzip.compress(payload, level), "gzip", LIMITS) == payload


def test_ratio_counts_consumed_input_so_one_big_chunk_cannot_license_a_bomb() -> None:
    bomb = gzip.compress(b"\0" * 100_000_000, compresslevel=9)  # ~100 KB handed over in one read
    limits = DecompressLimits(max_output=200_000_000, max_ratio=50, ratio_grace=100_000, max_members=4)
    dec = CappedDecompressor("gzip", limits)
    with pytest.raises(TooLargeError, match="compression ratio"):
        for _ in dec.feed(bomb):
            pass
    assert dec.bytes_out < 300_000  # stopped just past the grace, not at 50 x 100 KB = 5 MB
