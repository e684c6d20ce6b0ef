"""Secrets at rest: values LogHarbor must keep (alert channel URLs, routing keys, passwords) are
stored in OpenSearch encrypted, so a snapshot, a Dashboards user with read access to system
indices or a stolen disk does not reveal them.

Fernet from ``cryptography`` (AES-128-CBC + HMAC-SHA256, versioned tokens, key rotation with
:class:`~cryptography.fernet.MultiFernet`): a well-kept, audited library rather than our own
construction. The key lives outside OpenSearch — the point is that the cluster alone cannot
decrypt — taken from, in order:

1. ``LOGHARBOR_SECRET_KEYS``: comma-separated Fernet keys, the first encrypts, all decrypt
   (rotation: put the new key first, keep the old one until everything is rewritten);
2. ``LOGHARBOR_SECRET_KEY_FILE``: a file of such keys, one per line;
3. ``<data dir>/secret.key``, generated on first use with mode 0600 — fine for one host; every
   process on every host must share the same key, so multi-host deployments set 1 or 2.

Stored values look like ``enc:v1:<token>``. Values without the prefix (written before encryption
existed) are read as they are and encrypted when next written.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from logharbor.config import default_data_dir

PREFIX = "enc:v1:"


class SecretKeyError(RuntimeError):
    """A stored secret cannot be decrypted with the configured keys (or no key can be had)."""


class SecretBox:
    """Encrypt and decrypt short strings with the deployment's key ring."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise SecretKeyError("no secret key configured (LOGHARBOR_SECRET_KEYS or LOGHARBOR_SECRET_KEY_FILE)")
        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except (ValueError, TypeError) as exc:
            raise SecretKeyError(f"a configured secret key is not a Fernet key (32 url-safe base64 bytes): {exc}. "
                                 "Make one with: python -c 'from cryptography.fernet import Fernet; "
                                 "print(Fernet.generate_key().decode())'") from exc

    def seal(self, value: str) -> str:
        """``value`` encrypted (already-sealed values are returned unchanged)."""
        if is_sealed(value):
            return value
        return PREFIX + self._fernet.encrypt(value.encode()).decode()

    def open(self, value: str) -> str:
        """The clear value of a sealed one; a legacy clear value is returned as it is."""
        if not is_sealed(value):
            return value
        try:
            return self._fernet.decrypt(value[len(PREFIX):].encode()).decode()
        except InvalidToken as exc:
            raise SecretKeyError("a stored secret cannot be decrypted: the secret key differs from the one "
                                 "that stored it (set LOGHARBOR_SECRET_KEYS to the old key, or re-enter "
                                 "the secret)") from exc


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def load_keys(environ: dict[str, str] | None = None, data_dir: Path | None = None) -> list[bytes]:
    """The key ring from the environment, a key file, or the generated per-host file."""
    env = os.environ if environ is None else environ
    if env.get("LOGHARBOR_SECRET_KEYS"):
        return [k.strip().encode() for k in env["LOGHARBOR_SECRET_KEYS"].split(",") if k.strip()]
    path = Path(env["LOGHARBOR_SECRET_KEY_FILE"]) if env.get("LOGHARBOR_SECRET_KEY_FILE") else None
    if path is None:
        path = (data_dir or default_data_dir()) / "secret.key"
        if not path.exists():
            _create_key_file(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise SecretKeyError(f"cannot read the secret key file {path}: {exc}") from exc
    return [line.strip().encode() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # O_EXCL: of two processes creating it at once, one wins and the other reads its key
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as f:
        f.write(Fernet.generate_key().decode() + "\n")


_default: SecretBox | None = None
_lock = threading.Lock()


def default_box() -> SecretBox:
    """The process-wide box, made on first use from :func:`load_keys`."""
    global _default
    with _lock:
        if _default is None:
            _default = SecretBox(load_keys())
        return _default
