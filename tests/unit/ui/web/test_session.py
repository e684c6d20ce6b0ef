"""Session cookies and CSRF tokens: what a forged, edited, expired or foreign cookie gets."""

from __future__ import annotations

from ui.web import session as sess

SECRET = b"s" * 32


def test_session_round_trip_carries_identity_not_the_key() -> None:
    s = sess.new_session("abcdefghijkm", "acme", ["read", "admin"], ttl_s=60, now=1000)
    value = sess.encode_session(s, SECRET)
    assert sess.decode_session(value, SECRET, now=1001) == s
    assert s.is_admin and s.expires == 1060
    assert "lh_live" not in value and value.count(".") == 1


def test_tampered_foreign_or_expired_sessions_are_refused() -> None:
    s = sess.new_session("abcdefghijkm", "acme", ["read"], ttl_s=60, now=1000)
    value = sess.encode_session(s, SECRET)
    payload, mac = value.split(".")
    admin = sess.encode_session(sess.Session(s.sid, s.key_id, "other", ("admin",), 1000, 10**10), b"x" * 32)
    forged_payload = admin.split(".")[0]
    assert sess.decode_session(f"{forged_payload}.{mac}", SECRET, now=1001) is None  # edited payload
    assert sess.decode_session(value, b"t" * 32, now=1001) is None  # signed with another secret
    assert sess.decode_session(value, SECRET, now=1060) is None  # expired
    assert sess.decode_session(payload, SECRET, now=1001) is None
    assert sess.decode_session("", SECRET) is None and sess.decode_session(None, SECRET) is None
    assert sess.decode_session("!!!.???", SECRET) is None


def test_csrf_token_is_bound_to_the_session() -> None:
    token = sess.csrf_token(SECRET, "sid-1")
    assert sess.check_csrf(SECRET, "sid-1", token)
    assert not sess.check_csrf(SECRET, "sid-2", token)
    assert not sess.check_csrf(SECRET, "sid-1", None)
    assert not sess.check_csrf(SECRET, "sid-1", "")
    assert not sess.check_csrf(SECRET, None, token)
    assert not sess.check_csrf(b"x" * 32, "sid-1", token)


def test_safe_next_allows_local_paths_only() -> None:
    assert sess.safe_next("/search?q=a") == "/search?q=a"
    for bad in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)",
                "/x\r\nSet-Cookie: a=b", "", None):
        assert sess.safe_next(bad) == "/search", bad
