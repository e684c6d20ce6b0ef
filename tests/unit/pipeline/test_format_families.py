# ruff: noqa: E501  (real log lines are quoted whole)
"""Families the corpus test does not cover line by line: PostgreSQL joined entries, MySQL slow log,
MongoDB JSON, stack traces, year inference, operator families and test-parse.

Lines are copied from elastic/beats filebeat module test fixtures (Apache-2.0 / Elastic License):
filebeat/module/postgresql/log/test/postgresql-9.6-debian-with-slowlog.log,
filebeat/module/mongodb/log/test/mongodb-debian-3.2.11.log, filebeat/module/mysql/error/test/
mysql-ubuntu-5.5.53.log.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone

import pytest

from pipeline.parse.autodetect import Detector
from pipeline.parse.library import compile_family, load_dir, load_library
from pipeline.parse.testparse import run
from pipeline.timeparse import infer_year
from shipper.config import MultilineConfig
from shipper.multiline import MultilineJoiner

DET = Detector(load_library())


def parse(text: str) -> tuple[str, dict]:
    found = DET.detect(text)
    assert found is not None, text
    return found


def join(lines: list[str], preset: str) -> list[str]:
    j = MultilineJoiner(MultilineConfig(preset=preset))
    out: list[tuple[str, int, int]] = []
    for i, line in enumerate(lines):
        j.feed(line, i, i + 1, 0.0, out)
    j.flush(out)
    return [t for t, _, _ in out]


def test_postgres_duration_statement_joined_and_zone_abbreviation() -> None:
    lines = [
        '2017-07-31 13:36:43.557 CEST [4983] postgres@postgres LOG:  duration: 37.118 ms  statement: SELECT d.datname as "Name",',
        '\t       pg_catalog.pg_get_userbyid(d.datdba) as "Owner"',
        "\tFROM pg_catalog.pg_database d",
        "2017-07-31 13:39:16.249 CEST [5407] postgres@users FATAL:  database \"users\" does not exist",
    ]
    events = join(lines, "postgres")
    assert len(events) == 2
    name, out = parse(events[0])
    assert name == "postgresql" and out["log.level"] == "INFO" and out["process.pid"] == 4983
    assert out["user.name"] == "postgres" and out["postgresql.log.database"] == "postgres"
    assert out["event.duration"] == 37_118_000 and out["postgresql.log.query"].startswith("SELECT d.datname")
    assert out["@timestamp"] == datetime(2017, 7, 31, 11, 36, 43, 557000, tzinfo=UTC)  # CEST = +2
    name, out = parse(events[1])
    assert out["log.level"] == "FATAL" and out["message"] == 'database "users" does not exist'


def test_postgres_detail_hint_statement_fill_fields() -> None:
    # Shape of every PostgreSQL ERROR with DETAIL/HINT/STATEMENT (default log_line_prefix '%m [%p] ').
    lines = [
        '2021-03-05 09:39:54.545 UTC [77] ERROR:  duplicate key value violates unique constraint "users_pkey"',
        "2021-03-05 09:39:54.545 UTC [77] DETAIL:  Key (id)=(1) already exists.",
        "2021-03-05 09:39:54.545 UTC [77] STATEMENT:  INSERT INTO users VALUES (1)",
    ]
    [event] = join(lines, "postgres")
    _, out = parse(event)
    assert out["log.level"] == "ERROR" and out["message"].startswith("duplicate key value")
    assert out["postgresql.log.detail"] == "Key (id)=(1) already exists."
    assert out["postgresql.log.statement"] == "INSERT INTO users VALUES (1)"


def test_mysql_slow_log_block() -> None:
    lines = [
        "# Time: 2018-08-07T10:20:32.123456Z",
        "# User@Host: root[root] @ localhost []  Id:     3",
        "# Query_time: 2.001044  Lock_time: 0.000000 Rows_sent: 1  Rows_examined: 0",
        "SET timestamp=1533637232;",
        "SELECT SLEEP(2);",
        "# User@Host: app[app] @ web-1 [10.0.0.5]  Id:     4",
        "# Query_time: 1.5  Lock_time: 0.0 Rows_sent: 0  Rows_examined: 10",
        "SET timestamp=1533637240;",
        "SELECT * FROM t;",
    ]
    events = join(lines, "mysql-slow")
    assert len(events) == 2
    name, out = parse(events[0])
    assert name == "mysql-slow" and out["message"] == "SELECT SLEEP(2);" and out["user.name"] == "root"
    assert out["event.duration"] == 2_001_044_000
    _, out = parse(events[1])
    assert out["source.ip"] == "10.0.0.5" and out["@timestamp"].timestamp() == 1533637240


def test_mysql_55_error_log_and_mongodb_text() -> None:
    _, out = parse("161209 14:18:53 [ERROR] Aborting")
    assert out["log.level"] == "ERROR" and out["@timestamp"].hour == 14
    name, out = parse("2018-02-05T13:44:56.657+0100 I CONTROL  [initandlisten] git version: 009580ad490190ba33d1c6253ebd8d91808923e4")
    assert name == "mongodb-text" and out["log.level"] == "INFO" and out["log.logger"] == "CONTROL"
    assert out["@timestamp"].utcoffset() == timedelta(hours=1)


def test_mongodb_json() -> None:
    line = ('{"t":{"$date":"2021-03-05T09:39:54.545+00:00"},"s":"W","c":"CONTROL","id":22120,'
            '"ctx":"initandlisten","msg":"Access control is not enabled for the database","tags":["startupWarnings"]}')
    name, out = parse(line)
    assert name == "mongodb-json" and out["log.level"] == "WARN" and out["mongodb.log.id"] == 22120
    assert out["message"] == "Access control is not enabled for the database"


@pytest.mark.parametrize(
    ("text", "etype", "emsg"),
    [
        ("2015-10-18 18:01:47,978 ERROR [main] org.apache.hadoop.Foo: failed\njava.io.IOException: disk full\n"
         "\tat org.apache.hadoop.Foo.run(Foo.java:12)\nCaused by: java.lang.IllegalStateException: x",
         "java.io.IOException", "disk full"),
        ("2023-04-01 10:00:00,123 - app.db - ERROR - query failed\nTraceback (most recent call last):\n"
         '  File "app.py", line 3, in <module>\n    run()\nValueError: bad value', "ValueError", "bad value"),
        ("panic: runtime error: index out of range [5] with length 3\n\ngoroutine 1 [running]:\nmain.main()\n"
         "\t/tmp/main.go:8 +0x1d", "panic", "runtime error: index out of range [5] with length 3"),
    ],
)
def test_stack_traces_fill_error_fields(text: str, etype: str, emsg: str) -> None:
    _, out = parse(text)
    assert out["error.type"] == etype and out["error.message"] == emsg
    assert "\n" not in out["message"] and text.split("\n")[0].endswith(out["message"]) and out["error.stack_trace"]


def test_go_panic_is_joined_by_the_go_preset() -> None:
    lines = ["2024/01/02 10:00:00 starting", "panic: boom", "", "goroutine 1 [running]:", "main.main()",
             "\t/tmp/main.go:8 +0x1d", "exit status 2"]
    assert len(join(lines, "go")) == 2


def test_year_inference_rolls_back_only_for_the_future() -> None:
    now = datetime(2026, 1, 2, 12, tzinfo=UTC)
    assert infer_year(12, 31, UTC, now) == 2025
    assert infer_year(1, 3, UTC, now) == 2026  # within a day ahead: clock skew, not last year
    assert infer_year(1, 2, timezone(timedelta(hours=5)), now) == 2026


def test_operator_family_and_test_parse(tmp_path) -> None:
    fam = tmp_path / "acme.yaml"
    fam.write_text(
        "name: acme\nfirst: ['@']\npriority: 1\npatterns:\n"
        "  - '@%{TS:iso} %{LEVEL} (?P<svc>[a-z]++) %{MSG}'\nfields: {svc: service.component}\n"
    )
    assert [f.name for f in load_dir(fam)] == ["acme"]
    sample = tmp_path / "s.log"
    sample.write_text("@2026-01-19 10:30:00 WARN billing card declined\nnot a log line\n")
    buf = io.StringIO()
    assert run(sample, fam, out=buf) == 1  # one line unparsed
    text = buf.getvalue()
    assert "acme: @timestamp=2026-01-19T10:30:00.000Z level=WARN message='card declined'" in text
    assert "UNPARSED" in text and "summary: acme 1, (unparsed) 1" in text


def test_bad_operator_family_is_refused_with_its_name() -> None:
    with pytest.raises(ValueError, match=r"family evil: .*nests quantifiers"):
        compile_family({"name": "evil", "patterns": ["(a+)+b"]})
    with pytest.raises(ValueError, match="unknown key 'paterns'"):
        compile_family({"name": "typo", "paterns": ["x"]})


def test_generic_fallback_reads_unknown_layouts() -> None:
    name, out = parse("2024-01-02T03:04:05.678Z [worker-3] WARN cache.Store: eviction storm")
    assert name == "generic" and out["log.level"] == "WARN" and out["message"] == "eviction storm"
    assert out["process.thread.name"] == "worker-3" and out["log.logger"] == "cache.Store"


def test_source_zone_from_shipper_meta() -> None:
    from pipeline_testkit import make_event

    from pipeline.parse.step import ParseConfig, ParseStep
    from pipeline.settings import PipelineSettings

    step = ParseStep(ParseConfig(), PipelineSettings())
    ev = step.process(make_event("081109 203615 148 INFO dfs.DataNode: x", meta={"timezone": "Europe/Berlin"}))
    assert ev.doc["@timestamp"] == "2008-11-09T19:36:15.000Z" and ev.format == "compact-date"


def test_postgres_aws_rds_prefix() -> None:
    # elastic/integrations packages/postgresql/data_stream/log/_dev/test/pipeline/test-postgresql-aws.log
    _, out = parse("2022-06-16 17:58:40 UTC::@:[7770]:LOG:  checkpoint starting: time")
    assert out["log.level"] == "INFO" and out["process.pid"] == 7770 and out["message"] == "checkpoint starting: time"
    _, out = parse('2019-03-10 03:54:59 UTC:10.0.0.123(52834):postgres@tstdb:[20175]:ERROR: column "wrong" does not exist at character 8')
    assert out["log.level"] == "ERROR" and out["user.name"] == "postgres" and out["postgresql.log.database"] == "tstdb"
    assert out["message"] == 'column "wrong" does not exist at character 8'


def test_postgres_csvlog_with_a_multi_line_statement() -> None:
    # elastic/beats filebeat/module/postgresql/log/test/postgresql-13.csv.log
    lines = [
        '2021-01-04 01:06:13.289 UTC,,,1,,5ff26a05.1,5,,2021-01-04 01:06:13 UTC,,0,LOG,00000,"database system is ready to accept connections",,,,,,,,,"","postmaster"',
        "2021-01-04 01:06:54.227 UTC,\"postgres\",\"postgres\",86,\"172.24.0.1:45126\",5ff26a0c.56,5,\"idle\",2021-01-04 01:06:20 UTC,3/4,0,LOG,00000,\"statement: SELECT name FROM  (SELECT pg_catalog.lower(name) AS name FROM pg_catalog.pg_settings   WHERE context != 'internal'   UNION ALL SELECT 'all') ss  WHERE substring(name,1,7)='log_min'",
        'LIMIT 1000",,,,,,,,,"psql","client backend"',
    ]
    events = join(lines, "postgres-csv")
    assert len(events) == 2
    name, out = parse(events[0])
    assert name == "postgresql-csv" and out["log.level"] == "INFO" and out["process.pid"] == 1
    assert out["message"] == "database system is ready to accept connections"
    assert out["postgresql.log.backend_type"] == "postmaster"
    _, out = parse(events[1])
    assert out["user.name"] == "postgres" and out["message"].endswith("LIMIT 1000")
    assert out["postgresql.log.application_name"] == "psql"


def test_mongodb_44_json_with_padding() -> None:
    # elastic/beats filebeat/module/mongodb/log/test/mongodb-ubuntu-4.4.4-json.log
    line = ('{"t":{"$date":"2022-07-05T13:13:20.632+03:00"},"s":"I",  "c":"ACCESS",   "id":20249,   "ctx":"conn351460",'
            '"msg":"Authentication failed","attr":{"mechanism":"SCRAM-SHA-256","speculative":true,"principalName":"sherlock",'
            '"authenticationDatabase":"db_name","remote":"10.10.10.10:52088","extraInfo":{},'
            '"error":"AuthenticationFailed: SCRAM authentication failed, storedKey mismatch"}}')
    name, out = parse(line)
    assert name == "mongodb-json" and out["log.logger"] == "ACCESS" and out["process.thread.name"] == "conn351460"
    assert out["@timestamp"].hour == 13 and out["@timestamp"].utcoffset() == timedelta(hours=3)


def test_source_zone_from_the_shipper_field() -> None:
    from pipeline_testkit import make_event

    from pipeline.parse.step import ParseConfig, ParseStep
    from pipeline.settings import PipelineSettings

    step = ParseStep(ParseConfig(timezones={"web": "America/New_York"}), PipelineSettings())
    ev = step.process(make_event("081109 203615 148 INFO dfs.DataNode: x", fields={"event.timezone": "Asia/Tokyo"}))
    assert ev.doc["@timestamp"] == "2008-11-09T11:36:15.000Z"  # the shipper's zone wins over the glob
    ev = step.process(make_event("081109 203615 148 INFO dfs.DataNode: x"))
    assert ev.doc["@timestamp"] == "2008-11-10T01:36:15.000Z"  # the glob for source "web"


def test_shipper_file_source_sends_its_zone(tmp_path) -> None:
    from shipper.config import FileSourceConfig

    cfg = FileSourceConfig(type="file", paths=[str(tmp_path / "*.log")], timezone="Europe/Berlin")
    assert cfg.timezone == "Europe/Berlin"
    with pytest.raises(ValueError, match="Mars/Olympus"):
        FileSourceConfig(type="file", paths=["x"], timezone="Mars/Olympus")


@pytest.mark.parametrize(
    ("line", "level", "message", "extra"),
    [
        # elastic/beats filebeat/module/apache/error/test/test.log and sublevel.log
        ("[Mon Dec 26 16:22:08 2016] [error] [client 192.168.33.1] File does not exist: /var/www/favicon.ico",
         "ERROR", "[client 192.168.33.1] File does not exist: /var/www/favicon.ico", {"client.ip": "192.168.33.1"}),
        ("[Mon Dec 26 16:15:55.103786 2016] [core:notice] [pid 11379] AH00094: Command line: "
         "'/usr/local/Cellar/httpd24/2.4.23_2/bin/httpd'", "INFO",
         "AH00094: Command line: '/usr/local/Cellar/httpd24/2.4.23_2/bin/httpd'", {"process.pid": 11379}),
        ("[Fri Sep 09 10:42:29.902022 2011] [core:error] [pid 35708:tid 4328636416] [client 72.15.99.187] "
         "File does not exist: /usr/local/apache2/htdocs/favicon.ico", "ERROR",
         "File does not exist: /usr/local/apache2/htdocs/favicon.ico",
         {"process.thread.id": 4328636416, "client.ip": "72.15.99.187", "log.logger": "core"}),
        ("[Wed Oct 20 19:20:59.121211 2021] [rewrite:trace3] [pid 121591:tid 140413273032448] mod_rewrite.c(470): "
         "[client 10.121.192.8:38350] 10.121.192.8 - - [dev.elastic.co/sid#55a374e851c8][rid#7fb438083ac0/initial] "
         "applying pattern '^/import/?(.*)$' to uri '/'", "DEBUG", None, {"process.pid": 121591}),
        # elastic/beats filebeat/module/nginx/error/test/error.log
        ('2016/10/25 14:50:44 [error] 54053#0: *3 open() "/usr/local/Cellar/nginx/1.10.2_1/html/adsasd" failed '
         '(2: No such file or directory), client: 127.0.0.1, server: localhost, request: "GET /adsasd HTTP/1.1", '
         'host: "localhost:8080"', "ERROR", None, {"process.pid": 54053, "nginx.error.connection_id": 3}),
        # elastic/beats filebeat/module/system/syslog/test/suse-syslog.log (rsyslog ISO timestamps)
        ("2018-08-14T14:30:02.203151+02:00 linux-sqrz systemd[4179]: Stopped target Basic System.", "INFO",
         "Stopped target Basic System.", {"host.name": "linux-sqrz", "process.name": "systemd", "process.pid": 4179}),
        # pgBadger's recommended log_line_prefix '%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h '
        ("2024-01-01 10:00:00 UTC [123]: [1-1] user=postgres,db=shop,app=psql,client=[local] LOG:  checkpoint "
         "starting: time", "INFO", "checkpoint starting: time",
         {"process.pid": 123, "user.name": "postgres", "postgresql.log.database": "shop"}),
    ],
)
def test_more_real_lines(line: str, level: str, message: str | None, extra: dict) -> None:
    _, out = parse(line)
    assert out["log.level"] == level
    if message is not None:
        assert out["message"] == message
    for key, value in extra.items():
        assert out[key] == value, key


def test_java_and_python_traces_joined_by_the_default_rules_then_typed() -> None:
    java = ["2015-10-18 18:05:12,101 ERROR [main] org.apache.hadoop.mapred.Task: Task failed",
            "java.net.ConnectException: Connection refused", "\tat sun.nio.ch.SocketChannelImpl.checkConnect(Native Method)",
            "Caused by: java.io.IOException: broken pipe", "\t... 3 more",
            "2015-10-18 18:05:13,000 INFO [main] org.apache.hadoop.mapred.Task: next"]
    events = join(java, "java")
    assert len(events) == 2
    _, out = parse(events[0])
    assert out["error.type"] == "java.net.ConnectException" and out["message"] == "Task failed"
    py = ["2023-04-01 10:00:00,123 - app.db - ERROR - query failed", "Traceback (most recent call last):",
          '  File "app.py", line 3, in <module>', "KeyError: 'user'", "2023-04-01 10:00:01,000 - app.db - INFO - ok"]
    events = join(py, "python")
    assert len(events) == 2
    _, out = parse(events[0])
    assert out["error.type"] == "KeyError" and out["error.message"] == "'user'"


def test_auditd_records() -> None:
    # elastic/beats filebeat/module/auditd/log/test/audit-rhel6.log
    name, out = parse("type=LOGIN msg=audit(1489636960.072:19623791): pid=28281 uid=0 old auid=700 new auid=700 "
                      "old ses=6793 new ses=12286")
    assert name == "auditd" and out["auditd.log.record_type"] == "LOGIN" and out["auditd.log.sequence"] == 19623791
    assert out["@timestamp"] == datetime(2017, 3, 16, 4, 2, 40, 72000, tzinfo=UTC)
    assert out["message"].startswith("pid=28281 uid=0")


def test_activemq_pipe_layout_with_its_stack_trace() -> None:
    # elastic/beats x-pack/filebeat/module/activemq/log/test/activemq.log
    lines = [
        "2019-11-27 15:09:34,712 | ERROR | Failed to start Apache ActiveMQ (localhost, ID:5338986a6080-37033-1574867374550-0:1) | org.apache.activemq.broker.BrokerService | main",
        "java.io.IOException: Transport Connector could not be registered in JMX: java.io.IOException: Failed to bind to server socket: tcp://0.0.0.0:61616?maximumConnections=1000&wireFormat.maxFrameSize=104857600 due",
        " to: java.net.BindException: Address in use (Bind failed)",
        "\tat org.apache.activemq.util.IOExceptionSupport.create(IOExceptionSupport.java:28)[activemq-client-5.15.9.jar:5.15.9]",
        "\tat org.apache.activemq.broker.BrokerService.registerConnectorMBean(BrokerService.java:2264)[activemq-broker-5.15.9.jar:5.15.9]",
        "2019-11-27 15:09:34,716 | INFO  | Apache ActiveMQ 5.15.9 (localhost, ID:5338986a6080-37033-1574867374550-0:1) is shutting down | org.apache.activemq.broker.BrokerService | main",
    ]
    events = join(lines, "java")
    assert len(events) == 2
    name, out = parse(events[0])
    assert name == "java-log4j" and out["log.level"] == "ERROR" and out["process.thread.name"] == "main"
    assert out["message"] == "Failed to start Apache ActiveMQ (localhost, ID:5338986a6080-37033-1574867374550-0:1)"
    assert out["log.logger"] == "org.apache.activemq.broker.BrokerService" and out["error.type"] == "java.io.IOException"
    _, out = parse(events[1])
    assert out["log.level"] == "INFO" and out["message"].endswith("is shutting down")


def test_console_formats_without_a_timestamp_and_pino_levels() -> None:
    name, out = parse('INFO:     127.0.0.1:50312 - "GET /health HTTP/1.1" 200 OK')
    assert name == "python-logging" and out["log.level"] == "INFO" and out["message"].startswith("127.0.0.1:50312")
    events = join(["info: Microsoft.Hosting.Lifetime[0]", "      Now listening on: http://localhost:5000",
                   "fail: Api.Controllers.Orders[42]", "      Order 7 not found"], "dotnet")
    assert len(events) == 2
    name, out = parse(events[1])
    assert name == "dotnet-serilog" and out["log.level"] == "ERROR" and out["message"] == "Order 7 not found"
    assert out["log.logger"] == "Api.Controllers.Orders" and out["event.code"] == "42"
    name, out = parse('{"level":50,"time":1700000000000,"pid":7,"hostname":"web-1","msg":"payment failed"}')
    assert name == "json" and out["log.level"] == "ERROR" and out["message"] == "payment failed"


def test_jul_two_line_records_joined_by_the_jul_preset() -> None:
    events = join(["Oct 18, 2015 6:01:47 PM org.apache.catalina.startup.Catalina start",
                   "INFO: Server startup in 523 ms",
                   "Oct 18, 2015 6:01:48 PM org.apache.coyote.AbstractProtocol start",
                   "SEVERE: Failed to start end point associated with ProtocolHandler"], "jul")
    assert len(events) == 2
    name, out = parse(events[0])
    assert name == "java-jul" and out["log.level"] == "INFO" and out["message"] == "Server startup in 523 ms"
    assert out["@timestamp"].hour == 18 and out["log.logger"] == "org.apache.catalina.startup.Catalina"
    _, out = parse(events[1])
    assert out["log.level"] == "ERROR"


def test_every_family_fails_fast_on_near_misses() -> None:
    # Anchored patterns with possessive repeats: a 30,000-character near miss costs linear time.
    import time

    evil = [
        "2015-10-18 18:01:47,978 INFO [" + "x" * 30000,
        "2015-07-29 17:41:44,747 - INFO  [" + "a:b@" * 7500,
        "Jun 14 15:16:01 host " + "p" * 30000,
        "2019-05-06 19:00:04.511 UTC " + "[1] " * 7500,
        "[10.30 16:49:06] " + "- " * 15000,
        "03-17 16:13:38.811  1702  2395 D " + "t" * 30000,
        "2019-11-27 15:09:34,712 | ERROR | " + "m | " * 7500,
        '{"t":{"$date":"' + "1" * 30000,
        "type=SYSCALL msg=audit(" + "1" * 30000,
    ]
    lib = load_library()
    started = time.perf_counter()
    for line in evil:
        for fam in lib.families.values():
            fam.parse(line)
    assert time.perf_counter() - started < 5.0


def test_level_word_after_an_iso_time_is_not_a_syslog_host() -> None:
    # "<iso> INFO prog[pid]: msg" is an application line; syslog's ISO form must not take INFO as host.name.
    from pipeline.parse.detect import detect

    fmt, fields = detect("2026-03-04T11:59:59.008Z INFO auth[1033]: login succeeded for user=erin")
    assert fields.get("host.name") != "INFO"
    assert fields["log.level"] == "INFO" and fields["message"].endswith("login succeeded for user=erin")
    fmt, fields = detect("2026-01-19T10:30:00.123456+01:00 web-1 systemd[1]: Started Session 42 of user root.")
    assert fmt == "syslog" and fields["host.name"] == "web-1"
