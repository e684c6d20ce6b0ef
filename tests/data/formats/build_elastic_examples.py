"""Samples and expectations from github.com/elastic/examples (Apache-2.0): an Apache access log,
Kafka broker logs (log4j ``[date] LEVEL msg (logger)``) and an Ubuntu auth.log.

Events are sampled whole (a Kafka entry keeps its tab-indented continuation lines); expectations
come from plain string operations, independent of the format library. Run with a clone of
elastic/examples in EXAMPLES_GIT (a bare repository is fine).
"""

import json
import os
import subprocess

REPO = os.environ.get("EXAMPLES_GIT", "/work/.mirror/elastic+examples/repo")
OUT = os.path.dirname(os.path.abspath(__file__))
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
KAFKA = "Miscellaneous/kafka_monitoring/filebeat_monitoring/logs"


def show(path):
    out = subprocess.run(["git", "-C", REPO, "show", f"HEAD:{path}"], capture_output=True, check=True).stdout
    return out.decode("utf-8", "replace").split("\n")


def write(family, name, events, expected, meta=None):
    os.makedirs(os.path.join(OUT, family), exist_ok=True)
    with open(os.path.join(OUT, family, name + ".log"), "w") as f:
        f.write("\n".join(events) + "\n")
    with open(os.path.join(OUT, family, name + ".expected.jsonl"), "w") as f:
        for e in expected:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
    if meta:
        with open(os.path.join(OUT, family, name + ".meta.json"), "w") as f:
            f.write(json.dumps(meta) + "\n")


def apache_access():
    lines = [x for x in show("Common Data Formats/apache_logs/apache_logs") if x][::100]
    exp = []
    for line in lines:
        stamp = line.split("[", 1)[1].split("]", 1)[0]  # 17/May/2015:10:05:03 +0000
        day, mon, rest = stamp.split("/", 2)
        year, hh, mm, ss = rest.split(" ")[0].split(":")
        status = int(line.split('"')[2].split()[0])
        level = "ERROR" if status >= 500 else "WARN" if status >= 400 else "INFO"
        exp.append(
            {
                "date": f"{MONTHS.index(mon) + 1:02d}-{day}",
                "year": int(year),
                "time": f"{hh}:{mm}:{ss}",
                "level": level,
                "message": line,
                "fields": {"client.ip": line.split(" ")[0], "http.response.status_code": status},
            }
        )
    write("access-log", "elastic-examples-apache_logs", lines, exp)


def kafka(path, name, every):
    events, current = [], None
    for line in show(f"{KAFKA}/{path}"):
        if line.startswith("[") and line[1:2].isdigit():
            current = [line]
            events.append(current)
        elif current is not None and line:
            current.append(line)
    picked = events[::every]
    exp = []
    for ev in picked:
        first = ev[0]
        stamp, rest = first[1:].split("] ", 1)
        level, _, msg = rest.partition(" ")
        text = "\n".join([msg, *ev[1:]]).strip()
        fields = {}
        if text.endswith(")") and " (" in text:
            head, _, logger = text.rpartition(" (")
            if " " not in logger:
                fields["log.logger"] = logger[:-1]
                text = head.strip()
        exp.append(
            {
                "date": stamp[5:10],
                "year": int(stamp[:4]),
                "time": stamp[11:].replace(",", "."),
                "level": {"TRACE": "DEBUG"}.get(level, level),
                "message": text,
                "fields": fields,
            }
        )
    write("java-log4j-bracketed", name, ["\n".join(ev) for ev in picked], exp, {"multiline": "java"})


def auth_log():
    path = "Machine Learning/Security Analytics Recipes/suspicious_login_activity/data/auth.log"
    lines = [x for x in show(path) if x][::60]
    exp = []
    for line in lines:
        mon, day, clock, host, rest = line.split(None, 4)
        tag, _, msg = rest.partition(":")
        fields = {"host.name": host}
        if tag.endswith("]") and "[" in tag:
            proc, _, pid = tag[:-1].partition("[")
            fields["process.name"], fields["process.pid"] = proc, int(pid)
        else:
            fields["process.name"] = tag
        exp.append(
            {
                "date": f"{MONTHS.index(mon) + 1:02d}-{int(day):02d}",
                "time": clock,
                "level": "INFO",
                "message": msg.strip(),
                "fields": fields,
            }
        )
    write("syslog-auth", "elastic-examples-auth", lines, exp)


def jvm_gc(path, name, every):
    events, current = [], None
    for line in show(f"{KAFKA}/{path}"):
        if line[:4].isdigit() and line[4:5] == "-":
            current = [line]
            events.append(current)
        elif current is not None and line:
            current.append(line)
    picked = events[::every]
    exp = []
    for ev in picked:
        stamp, uptime, msg = ev[0].split(": ", 2)
        exp.append(
            {
                "date": stamp[5:10],
                "year": int(stamp[:4]),
                "time": stamp[11:23],
                "level": "INFO",
                "message": "\n".join([msg, *ev[1:]]).strip(),
                "fields": {"host.uptime": uptime},
            }
        )
    write("jvm-gc", name, ["\n".join(ev) for ev in picked], exp, {"multiline": "java"})


apache_access()
jvm_gc("kafka0/logs/kafkaServer-gc.log", "elastic-examples-kafka0-gc", 10)
kafka("kafka1/logs/server.log.2016-12-19-19", "elastic-examples-kafka1-server", 3)
kafka("kafka0/logs/controller.log.2016-12-19-16", "elastic-examples-kafka0-controller", 8)
auth_log()
