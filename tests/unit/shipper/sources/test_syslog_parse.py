"""Syslog header parsing and TCP framing (RFC 3164, RFC 5424, RFC 6587)."""

from hypothesis import given
from hypothesis import strategies as st

from shipper.sources.syslog import split_frames
from shipper.sources.syslog_parse import parse_syslog


def test_rfc5424_header() -> None:
    f = parse_syslog('<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 '
                     '[exampleSDID@32473 iut="3"] An application event')
    assert f["log.syslog.priority"] == 165 and f["log.syslog.facility.code"] == 20
    assert f["log.syslog.severity.code"] == 5 and f["log.syslog.version"] == 1
    assert f["log.syslog.hostname"] == "mymachine.example.com" and f["log.syslog.appname"] == "evntslog"
    assert "log.syslog.procid" not in f and f["log.syslog.msgid"] == "ID47"


def test_rfc3164_header() -> None:
    f = parse_syslog("<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed for lonvick on /dev/pts/8")
    assert f["log.syslog.severity.code"] == 2 and f["log.syslog.facility.code"] == 4
    assert f["log.syslog.timestamp"] == "Oct 11 22:14:15" and f["log.syslog.hostname"] == "mymachine"
    assert f["log.syslog.appname"] == "su" and f["log.syslog.procid"] == "123"
    assert "log.syslog.version" not in f


def test_garbage_yields_no_fields_and_no_error() -> None:
    assert parse_syslog("hello") == {}
    assert parse_syslog("<abc>x") == {}
    assert parse_syslog("<12>") == {"log.syslog.priority": 12, "log.syslog.facility.code": 1,
                                    "log.syslog.severity.code": 4}


def test_octet_counted_and_newline_frames_mixed() -> None:
    m1 = b"<34>1 2003-10-11T22:14:15Z host app - - - multi\nline"
    m2 = b"<1>1 - - - - - x"
    framed2 = str(len(m2)).encode() + b" " + m2
    data = str(len(m1)).encode() + b" " + m1 + b"<13>Oct 11 22:14:15 h t: plain\n" + framed2[:10]
    frames, rest = split_frames(data, 65536)
    assert frames == [m1, b"<13>Oct 11 22:14:15 h t: plain"]
    assert rest == framed2[:10]  # incomplete frame waits for more bytes
    frames, rest = split_frames(rest + framed2[10:], 65536)
    assert frames == [m2] and rest == b""


@given(st.lists(st.binary(min_size=1, max_size=40).filter(lambda b: b[:1] not in b"0123456789\n\r\x00 "),
                min_size=1, max_size=10), st.integers(min_value=1, max_value=50))
def test_octet_counting_survives_any_chunking(messages: list[bytes], chunk: int) -> None:
    stream = b"".join(str(len(m)).encode() + b" " + m for m in messages)
    got: list[bytes] = []
    buf = b""
    for i in range(0, len(stream), chunk):
        buf += stream[i:i + chunk]
        frames, buf = split_frames(buf, 65536)
        got += frames
    assert got == messages and buf == b""
