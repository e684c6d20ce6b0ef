"""Checkpoint store: atomic replacement, reload, and recovery from a hand-damaged file."""

import os
from pathlib import Path

from shipper.checkpoint import CheckpointStore, atomic_write
from shipper.sources.file_tail import fingerprint, id_hasher


def test_save_and_reload(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "cp.json")
    store.section("app")["1:2"] = {"offset": 42}
    store.save()  # not dirty: nothing written
    assert not (tmp_path / "cp.json").exists()
    store.mark()
    store.save()
    assert CheckpointStore(tmp_path / "cp.json").section("app") == {"1:2": {"offset": 42}}


def test_atomic_write_leaves_no_temp_and_replaces(tmp_path: Path) -> None:
    p = tmp_path / "f"
    atomic_write(p, b"one")
    atomic_write(p, b"two")
    assert p.read_bytes() == b"two" and os.listdir(tmp_path) == ["f"]


def test_damaged_file_is_set_aside(tmp_path: Path) -> None:
    p = tmp_path / "cp.json"
    p.write_text("{not json")
    store = CheckpointStore(p)
    assert store.section("x") == {} and (tmp_path / "cp.corrupt").exists()


def test_fingerprint_is_first_line_capped() -> None:
    assert fingerprint(b"partial first line", 256) is None
    a = fingerprint(b"first\nsecond", 256)
    assert a is not None and a == fingerprint(b"first\nsecond and more", 256)
    assert a != fingerprint(b"other\nsecond", 256)
    long = b"x" * 300
    assert fingerprint(long[:255], 256) is None and fingerprint(long, 256) == fingerprint(long + b"y", 256)


def test_fast_id_hasher_matches_the_shared_stable_id() -> None:
    from logharbor.ids import stable_id
    from shipper.sources.file_tail import id_hasher

    for offset in (0, 7, 123456789):
        h = id_hasher("host", "/var/log/a.log", "1:2:abc:0")
        h.update(b"%d\x1f" % offset)
        assert h.hexdigest() == stable_id("host", "/var/log/a.log", "1:2:abc:0", offset)


def test_fast_event_encoding_equals_the_generic_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import orjson

    from shipper.config import FileSourceConfig
    from shipper.metrics import Metrics
    from shipper.sources.file_tail import FileSource, TrackedFile

    src = FileSource(FileSourceConfig(type="file", name="app", paths=["x"], inotify=False), "host-1",
                     CheckpointStore(tmp_path / "cp.json"), Metrics())
    tf = TrackedFile(key="1:2", path='/var/log/"quoted".log', origin="/var/log/a.log", fd=-1, fp="abc")
    joined = [('text with "quotes" and \\ and ünïcode\ttab', 0, 40), ("   ", 40, 44), ("second", 44, 51)]
    fast = [orjson.loads(e.data) for e in src._events_fast(tf, joined)]
    generic = []
    for text, start, _end in joined:
        if text.strip():
            fields, _ = src.fields(tf, start)
            generic.append({"raw": text, "format": "auto", "host": "host-1", "fields": fields})
    assert [{k: v for k, v in e.items() if k not in ("id", "timestamp")} for e in fast] == generic
    h = id_hasher("host-1", tf.origin, tf.ident)
    h.update(b"0\x1f")
    assert fast[0]["id"] == h.hexdigest() and fast[1]["fields"]["log.offset"] == 44
    assert fast[0]["timestamp"].endswith("Z")
