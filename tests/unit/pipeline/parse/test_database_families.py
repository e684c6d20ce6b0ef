# ruff: noqa: E501  (real log lines are quoted whole)
"""Database families on shapes the real-log corpus exposed: a csvlog field spanning lines keeps its
newlines, and a MySQL slow-log entry that opens with the server's start banner still parses.

Lines are from elastic/beats filebeat module test fixtures (filebeat/module/postgresql/log/test/
postgresql-11-connection-disconnection.csv.log, filebeat/module/mysql/slowlog/test/
mariadb-10.3.13.log).
"""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.parse.autodetect import Detector
from pipeline.parse.library import load_library

DET = Detector(load_library())
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def parse(text: str) -> tuple[str, dict]:
    found = DET.detect(text, ("unit", "db"), UTC, NOW)
    assert found is not None, text
    return found


def test_csvlog_quoted_field_keeps_its_line_breaks() -> None:
    entry = (
        '2021-01-04 00:05:12.999 UTC,"postgres","postgres",34,"172.24.0.1:42304",5ff25bb2.22,3,"idle",'
        "2021-01-04 00:05:06 UTC,3/2,0,LOG,00000,\"statement: SELECT name FROM  (SELECT pg_catalog.lower(name) AS name "
        "FROM pg_catalog.pg_settings   WHERE context != 'internal'   UNION ALL SELECT 'all') ss  WHERE "
        "substring(name,1,10)='log_connec'\nLIMIT 1000\",,,,,,,,,\"psql\""
    )
    family, fields = parse(entry)
    assert family == "postgresql-csv"
    assert fields["message"].endswith("='log_connec'\nLIMIT 1000")
    assert fields["process.pid"] == 34
    assert fields["@timestamp"] == datetime(2021, 1, 4, 0, 5, 12, 999000, tzinfo=UTC)


def test_csvlog_detail_spanning_lines_is_kept_whole() -> None:
    entry = (
        '2021-01-04 00:05:58.232 UTC,"azlev","azlev",36,"172.24.0.1:42326",5ff25be6.24,2,"authentication",'
        '2021-01-04 00:05:58 UTC,3/9,0,FATAL,28P01,"password authentication failed for user ""azlev""",'
        '"Role ""azlev"" does not exist.\nConnection matched pg_hba.conf line 95: ""host all all all md5""",,,,,,,,""'
    )
    _, fields = parse(entry)
    assert fields["log.level"] == "FATAL"
    assert fields["postgresql.log.detail"] == (
        'Role "azlev" does not exist.\nConnection matched pg_hba.conf line 95: "host all all all md5"'
    )


def test_mysql_slow_entry_after_the_server_banner() -> None:
    entry = (
        "/usr/sbin/mysqld, Version: 10.3.13-MariaDB-1:10.3.13+maria~bionic-log (mariadb.org binary distribution). started with:\n"
        "Tcp port: 3306  Unix socket: /var/run/mysqld/mysqld.sock\n"
        "Time\t\t    Id Command\tArgument\n"
        "# Time: 190324 16:03:00\n"
        "# User@Host: root[root] @ localhost []\n"
        "# Thread_id: 37  Schema: employees  QC_hit: No\n"
        "# Query_time: 2.461578  Lock_time: 0.000196  Rows_sent: 10  Rows_examined: 3145718\n"
        "use employees;\n"
        "SET timestamp=1553443380;\n"
        "SELECT last_name, MAX(salary) AS salary FROM employees\n"
        "    LIMIT 10;"
    )
    family, fields = parse(entry)
    assert family == "mysql-slow"
    assert fields["@timestamp"].strftime("%m-%d %H:%M:%S") == "03-24 16:03:00"
    assert fields["message"] == "SELECT last_name, MAX(salary) AS salary FROM employees\n    LIMIT 10;"
    assert fields["user.name"] == "root"
    assert fields["service.version"] == "10.3.13-MariaDB-1:10.3.13+maria~bionic-log"


def test_mysql_slow_without_banner_still_parses() -> None:
    entry = (
        "# User@Host: ehr[ehr] @  [192.168.31.168]\n"
        "# Thread_id: 210363  Schema: ehr  QC_hit: No\n"
        "# Query_time: 2.223730  Lock_time: 0.002075  Rows_sent: 0  Rows_examined: 249440\n"
        "SET timestamp=1754941503;\n"
        "delete from `ehr`.`drs_api_call_log` where `created_at` < '2025-07-11 19:45:01.094';"
    )
    family, fields = parse(entry)
    assert family == "mysql-slow"
    assert fields["@timestamp"] == datetime(2025, 8, 11, 19, 45, 3, tzinfo=UTC)
    assert "service.version" not in fields
