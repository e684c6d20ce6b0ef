"""Secrets at rest: seal/open round trips, key rotation, a wrong key, the generated key file."""

from __future__ import annotations

import stat

import pytest
from cryptography.fernet import Fernet

from logharbor.secretbox import PREFIX, SecretBox, SecretKeyError, is_sealed, load_keys


def test_seal_open_round_trip_and_idempotent_seal():
    box = SecretBox([Fernet.generate_key()])
    sealed = box.seal("https://hooks.slack.com/services/T0/B0/XYZ")
    assert sealed.startswith(PREFIX) and "XYZ" not in sealed
    assert box.seal(sealed) == sealed  # sealing twice would make the value unreadable
    assert box.open(sealed) == "https://hooks.slack.com/services/T0/B0/XYZ"
    assert box.open("legacy clear value") == "legacy clear value"


def test_rotation_new_key_first_old_still_opens():
    old, new = Fernet.generate_key(), Fernet.generate_key()
    sealed_old = SecretBox([old]).seal("s3cret")
    ring = SecretBox([new, old])
    assert ring.open(sealed_old) == "s3cret"
    assert SecretBox([new]).open(ring.seal("x")) == "x"  # the first key encrypts


def test_wrong_key_is_a_clear_error():
    sealed = SecretBox([Fernet.generate_key()]).seal("s3cret")
    with pytest.raises(SecretKeyError, match="secret key differs"):
        SecretBox([Fernet.generate_key()]).open(sealed)


def test_bad_key_names_how_to_make_one():
    with pytest.raises(SecretKeyError, match=r"Fernet\.generate_key"):
        SecretBox([b"too-short"])


def test_load_keys_env_file_and_generated(tmp_path):
    k1, k2 = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    assert load_keys({"LOGHARBOR_SECRET_KEYS": f"{k1}, {k2}"}) == [k1.encode(), k2.encode()]
    f = tmp_path / "keys"
    f.write_text(f"# rotated 2026-12\n{k2}\n\n{k1}\n")
    assert load_keys({"LOGHARBOR_SECRET_KEY_FILE": str(f)}) == [k2.encode(), k1.encode()]
    first = load_keys({}, data_dir=tmp_path / "data")
    path = tmp_path / "data" / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keys({}, data_dir=tmp_path / "data") == first  # stable across processes on one host
    assert is_sealed(SecretBox(first).seal("x"))
