"""Every source kind over real sockets, pipes, files and subprocesses, into the recording gateway."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.shipper_support.harness import (
    InProcessShipper,
    LineWriter,
    ShipperProcess,
    fast_config,
    file_source,
    wait_all,
)
from tests.shipper_support.recording_gateway import RecordingGateway


def by_raw(gw: RecordingGateway) -> dict[str, dict]:
    return {e["raw"]: e for e in gw.events}


RFC5424 = '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [ex@32473 iut="3"] An app event'
RFC3164 = "<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed for lonvick"


def test_syslog_udp_and_tcp_both_rfcs_and_both_framings(tmp_path: Path, gw: RecordingGateway) -> None:
    src = {"type": "syslog", "name": "sys", "udp": "127.0.0.1:0", "tcp": "127.0.0.1:0"}
    sh = InProcessShipper(fast_config(tmp_path / "data", gw, [src])).start()
    try:
        source = sh.source("sys")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.sendto(RFC5424.encode(), source.udp_bound)
            u.sendto((RFC3164 + " udp\n").encode(), source.udp_bound)
        octet = RFC5424.replace("An app event", "octet\nwith newline").encode()
        with socket.create_connection(source.tcp_bound) as t:
            t.sendall(str(len(octet)).encode() + b" " + octet)  # RFC 6587 octet counting
            t.sendall((RFC3164 + " tcp-lf\n").encode())  # newline framing on the same connection
            t.sendall(b"<13>1 - host app - - - tail-without-newline")
        expected = [
            RFC5424,
            RFC3164 + " udp",
            octet.decode(),
            RFC3164 + " tcp-lf",
            "<13>1 - host app - - - tail-without-newline",
        ]
        assert gw.wait_for(lambda g: set(expected) <= set(g.raws()), 10), gw.raws()
        events = by_raw(gw)
        e5424 = events[RFC5424]
        assert e5424["format"] == "syslog" and e5424["fields"]["log.syslog.appname"] == "evntslog"
        assert e5424["fields"]["log.syslog.version"] == 1 and e5424["fields"]["client.ip"] == "127.0.0.1"
        e3164 = events[RFC3164 + " udp"]
        assert e3164["fields"]["log.syslog.hostname"] == "mymachine"
        assert e3164["fields"]["log.syslog.severity.code"] == 2
        assert events[octet.decode()]["fields"]["log.syslog.msgid"] == "ID47"
        assert len({e["id"] for e in gw.events}) == len(gw.events)
    finally:
        sh.stop()


def test_raw_tcp_and_udp_line_listeners(tmp_path: Path, gw: RecordingGateway) -> None:
    sources = [
        {"type": "tcp", "name": "tcp", "listen": "127.0.0.1:0", "format": "json"},
        {"type": "udp", "name": "udp", "listen": "127.0.0.1:0"},
    ]
    sh = InProcessShipper(fast_config(tmp_path / "data", gw, sources)).start()
    try:
        tcp_lines = [json.dumps({"n": i, "msg": "over tcp"}) for i in range(500)]
        with socket.create_connection(sh.source("tcp").bound) as t:
            payload = ("\n".join(tcp_lines) + "\n").encode()
            for i in range(0, len(payload), 777):  # arbitrary chunking splits lines
                t.sendall(payload[i : i + 777])
        udp_lines = [f"udp line {i}" for i in range(20)]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.sendto(("\n".join(udp_lines[:10]) + "\n").encode(), sh.source("udp").bound)
            for line in udp_lines[10:]:
                u.sendto(line.encode(), sh.source("udp").bound)
        report = wait_all(gw, tcp_lines + udp_lines)
        assert report["ok"], report
        events = by_raw(gw)
        assert events[tcp_lines[0]]["format"] == "json" and events[udp_lines[0]]["format"] == "auto"
        assert events[udp_lines[0]]["fields"]["source_name"] == "udp"
    finally:
        sh.stop()


def test_stdin_source_ships_everything_and_exits_when_input_ends(tmp_path: Path, gw: RecordingGateway) -> None:
    cfg = fast_config(tmp_path / "data", gw, [{"type": "stdin", "name": "in", "format": "app"}])
    proc = ShipperProcess(cfg, tmp_path)
    proc.start(stdin=subprocess.PIPE, wait_ready=False)
    assert proc.proc is not None and proc.proc.stdin is not None
    lines = [f"stdin line {i}" for i in range(300)]
    proc.proc.stdin.write(("\n".join(lines) + "\n").encode())
    proc.proc.stdin.write(b"last line without newline")
    proc.proc.stdin.close()
    assert proc.proc.wait(30) == 0
    report = wait_all(gw, [*lines, "last line without newline"], timeout=2)
    assert report["ok"], report
    assert gw.events[0]["format"] == "app"


def test_docker_json_file_is_unwrapped_with_container_id_and_time(tmp_path: Path, gw: RecordingGateway) -> None:
    cid = "a" * 64
    d = tmp_path / "containers" / cid
    d.mkdir(parents=True)
    log = d / f"{cid}-json.log"
    entries = [
        {"log": "hello from the app\n", "stream": "stdout", "time": "2024-05-01T10:00:00.123456789Z"},
        {"log": "first half of a long line ", "stream": "stderr", "time": "2024-05-01T10:00:01.000000001Z"},
        {"log": "second half\n", "stream": "stderr", "time": "2024-05-01T10:00:01.000000002Z"},
        {"log": '{"level":"info","msg":"json inside"}\n', "stream": "stdout", "time": "2024-05-01T10:00:02Z"},
    ]
    log.write_text("".join(json.dumps(e) + "\n" for e in entries))
    src = {
        "type": "docker",
        "name": "docker",
        "paths": [str(tmp_path / "containers" / "*" / "*-json.log")],
        "poll_interval_s": 0.05,
    }
    sh = InProcessShipper(fast_config(tmp_path / "data", gw, [src])).start()
    try:
        expected = [
            "hello from the app",
            "first half of a long line second half",
            '{"level":"info","msg":"json inside"}',
        ]
        assert wait_all(gw, expected)["ok"], gw.raws()
        events = by_raw(gw)
        first = events["hello from the app"]
        assert first["fields"]["container.id"] == cid and first["fields"]["stream"] == "stdout"
        assert first["timestamp"] == "2024-05-01T10:00:00.123456789Z"
        assert events["first half of a long line second half"]["fields"]["stream"] == "stderr"
    finally:
        sh.stop()


def test_database_log_is_a_file_source_with_its_format_hint(tmp_path: Path, gw: RecordingGateway) -> None:
    pg = tmp_path / "postgresql-16-main.log"
    lines = [
        "2024-05-01 10:00:00.123 UTC [123] LOG:  database system is ready to accept connections",
        '2024-05-01 10:00:01.456 UTC [124] ERROR:  relation "x" does not exist at character 15',
        "2024-05-01 10:00:01.456 UTC [124] STATEMENT:  select * from x;",
    ]
    pg.write_text("\n".join(lines) + "\n")
    src = {"type": "database", "name": "pg", "engine": "postgres", "paths": [str(pg)], "multiline": False}
    sh = InProcessShipper(fast_config(tmp_path / "data", gw, [src])).start()
    try:
        assert wait_all(gw, lines)["ok"]
        assert {e["format"] for e in gw.events} == {"postgres"}
    finally:
        sh.stop()


def test_multiline_stack_traces_in_a_file(tmp_path: Path, gw: RecordingGateway) -> None:
    app = tmp_path / "app.log"
    java = textwrap.dedent("""\
        2024-05-01 10:00:00 ERROR [main] request failed
        java.lang.IllegalStateException: boom
        \tat com.example.Foo.bar(Foo.java:10)
        \tat com.example.Main.main(Main.java:5)
        Caused by: java.io.IOException: disk full
        \t... 2 more""")
    python = textwrap.dedent("""\
        2024-05-01 10:00:01 ERROR worker crashed
        Traceback (most recent call last):
          File "app.py", line 3, in <module>
            main()
        KeyError: 'x'""")
    app.write_text(java + "\n" + python + "\n2024-05-01 10:00:02 INFO fine\n")
    src = file_source(str(app), multiline={"flush_timeout_s": 0.2})
    sh = InProcessShipper(fast_config(tmp_path / "data", gw, [src])).start()
    try:
        assert wait_all(gw, [java, python, "2024-05-01 10:00:02 INFO fine"])["ok"], gw.raws()
        # the trailing single line was flushed by the timeout, not held forever
        offsets = sorted(e["fields"]["log.offset"] for e in gw.events)
        assert offsets[0] == 0 and len(offsets) == 3
    finally:
        sh.stop()


FAKE_JOURNALCTL = """\
#!{python}
# Stand-in for journalctl: prints entries from a JSON-lines file after --after-cursor, then waits.
import json, sys, time
entries = [json.loads(l) for l in open({store!r})]
after = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--after-cursor=")), None)
open({argv_log!r}, "a").write(json.dumps(sys.argv[1:]) + "\\n")
start = 0
if after is not None:
    start = next(i for i, e in enumerate(entries) if e["__CURSOR"] == after) + 1
for e in entries[start:]:
    print(json.dumps(e), flush=True)
while True:
    time.sleep(1)
"""


def test_journald_source_resumes_from_the_saved_cursor(tmp_path: Path, gw: RecordingGateway) -> None:
    store = tmp_path / "journal.jsonl"
    argv_log = tmp_path / "argv.log"

    def entries(lo: int, hi: int) -> list[dict]:
        return [
            {
                "__CURSOR": f"s=abc;i={i}",
                "__REALTIME_TIMESTAMP": str(1714557600000000 + i),
                "MESSAGE": f"journal message {i}",
                "PRIORITY": "6",
                "_SYSTEMD_UNIT": "demo.service",
                "_PID": "42",
            }
            for i in range(lo, hi)
        ]

    store.write_text("".join(json.dumps(e) + "\n" for e in entries(0, 5)))
    fake = tmp_path / "journalctl"
    fake.write_text(FAKE_JOURNALCTL.format(python=sys.executable, store=str(store), argv_log=str(argv_log)))
    fake.chmod(0o755)
    src = {
        "type": "journald",
        "name": "journal",
        "journalctl": str(fake),
        "units": ["demo.service"],
        "start_at": "beginning",
    }
    cfg = fast_config(tmp_path / "data", gw, [src])
    sh = InProcessShipper(cfg).start()
    try:
        assert wait_all(gw, [f"journal message {i}" for i in range(5)])["ok"]
        e = by_raw(gw)["journal message 0"]
        assert e["fields"]["systemd.unit"] == "demo.service" and e["timestamp"].startswith("2024-05-01T10:00:00")
    finally:
        sh.stop()
    with open(store, "a") as f:
        f.write("".join(json.dumps(x) + "\n" for x in entries(5, 8)))
    sh = InProcessShipper(cfg).start()
    try:
        expected = [f"journal message {i}" for i in range(8)]
        report = wait_all(gw, expected)
        assert report["ok"] and report["resent_same_id"] == 0, report
    finally:
        sh.stop()
    runs = [json.loads(line) for line in argv_log.read_text().splitlines()]
    assert "-n" in runs[0] and "all" in runs[0] and ["-u", "demo.service"] == runs[0][runs[0].index("-u") :][:2]
    assert "--after-cursor=s=abc;i=4" in runs[1]


def test_journald_missing_binary_is_reported_not_fatal(tmp_path: Path, gw: RecordingGateway) -> None:
    w = LineWriter()
    w.write(tmp_path / "a.log", 3)
    sources = [
        {"type": "journald", "name": "journal", "journalctl": "/nonexistent/journalctl"},
        file_source(str(tmp_path / "a.log")),
    ]
    sh = InProcessShipper(fast_config(tmp_path / "data", gw, sources)).start()
    try:
        assert wait_all(gw, w.written)["ok"]
        assert "not found" in (sh.source("journal").status()["last_error"] or "")
    finally:
        sh.stop()


def test_sigterm_with_an_idle_stdin_pipe_exits_promptly(tmp_path: Path, gw: RecordingGateway) -> None:
    """A read blocked on an idle pipe must not hold up shutdown."""
    import signal

    proc = ShipperProcess(fast_config(tmp_path / "data", gw, [{"type": "stdin"}]), tmp_path, light_entry=True)
    proc.start(stdin=subprocess.PIPE)
    assert proc.proc is not None and proc.proc.stdin is not None
    proc.proc.stdin.write(b"only line\n")
    proc.proc.stdin.flush()
    assert gw.wait_for(lambda g: g.raws() == ["only line"], 10)
    proc.proc.send_signal(signal.SIGTERM)
    try:
        assert proc.proc.wait(10) == 0
    finally:
        if proc.proc.poll() is None:
            proc.kill()
        proc.proc.stdin.close()
