"""Expectations for the auditd and MongoDB samples by plain string operations and json.loads."""

import json
import os
from datetime import UTC, datetime

HERE = os.path.dirname(os.path.abspath(__file__))
MONGO_LEVEL = {"F": "FATAL", "E": "ERROR", "W": "WARN", "I": "INFO", "D": "DEBUG"}


def save(path, out):
    with open(path[:-4] + ".expected.jsonl", "w") as f:
        for e in out:
            f.write(json.dumps(e) + "\n")


def auditd():
    d = os.path.join(HERE, "auditd")
    for name in sorted(x for x in os.listdir(d) if x.endswith(".log")):
        out = []
        for line in open(os.path.join(d, name)).read().splitlines():
            fields = {}
            if line.startswith("node="):
                node, line = line[5:].split(" ", 1)
                fields["host.name"] = node
            rtype = line[5:].split(" ", 1)[0]
            stamp, rest = line.split("msg=audit(", 1)[1].split("):", 1)
            epoch, serial = stamp.split(":")
            dt = datetime.fromtimestamp(float(epoch), UTC)
            fields.update({"auditd.log.record_type": rtype, "auditd.log.sequence": int(serial)})
            out.append(
                {
                    "date": dt.strftime("%m-%d"),
                    "year": dt.year,
                    "time": dt.strftime("%H:%M:%S.%f")[:12],
                    "level": "INFO",
                    "message": rest.strip(),
                    "fields": fields,
                }
            )
        save(os.path.join(d, name), out)


def mongodb():
    d = os.path.join(HERE, "mongodb")
    for name in sorted(x for x in os.listdir(d) if x.endswith(".log")):
        out = []
        for line in open(os.path.join(d, name)).read().splitlines():
            if line.startswith("{"):
                obj = json.loads(line)
                stamp, level, msg, logger = obj["t"]["$date"], obj["s"], obj["msg"], obj["c"]
            else:
                stamp, level, logger, rest = line.split(None, 3)
                msg = rest.split("] ", 1)[1]
            out.append(
                {
                    "date": stamp[5:10],
                    "year": int(stamp[:4]),
                    "time": stamp[11:23],
                    "level": MONGO_LEVEL[level[0]],
                    "message": msg.strip(),
                    "fields": {"log.logger": logger},
                }
            )
        save(os.path.join(d, name), out)


auditd()
mongodb()
