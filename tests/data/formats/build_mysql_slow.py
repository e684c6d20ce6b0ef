"""Expectations for the MySQL / MariaDB / Percona slow-query-log samples by plain string operations.

An entry starts at a ``# Time:`` line, or at a ``# User@Host:`` line not right after one; the
server's start banner (``..., Version: ... started with:``, ``Tcp port:``, ``Time  Id Command``)
belongs to the entry after it. The time is the ``# Time:`` line's (ISO 8601 UTC, or
``yyMMdd H:mm:ss`` server time) or, without one, ``SET timestamp=`` (epoch, UTC). The message is
the statement: the lines that are not comments, banner, ``use db;`` or ``SET timestamp=``. The
slow log has no severity: INFO, the library's documented default.
"""

import datetime
import json
import os

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mysql-slow")


def banner(line):
    return ", Version: " in line or line.startswith("Tcp port: ") or line.replace("\t", " ").split()[:3] == [
        "Time", "Id", "Command"]


for name in sorted(os.listdir(HERE)):
    if not name.endswith(".log"):
        continue
    events, pending = [], []
    for line in open(os.path.join(HERE, name)).read().splitlines():
        if banner(line):
            pending.append(line)
            continue
        starts = line.startswith("# Time: ") or (
            line.startswith("# User@Host: ") and not (events and events[-1][-1].startswith("# Time: ")))
        if starts or not events:
            events.append([*pending, line])
            pending = []
        else:
            events[-1].append(line)
    out = []
    for ev in events:
        exp = {}
        tline = next((x for x in ev if x.startswith("# Time: ")), None)
        stamp = next((x for x in ev if x.startswith("SET timestamp=")), None)
        if tline:
            value = tline[8:].split(" # ")[0].strip()
            if "T" in value:
                exp.update(date=value[5:10], year=int(value[:4]), time=value[11:26], utc=True)
            else:
                day, clock = value.split()
                h, m, s = clock.split(":")
                exp.update(date=f"{day[2:4]}-{day[4:6]}", year=2000 + int(day[:2]), time=f"{int(h):02d}:{m}:{s}")
        else:
            t = datetime.datetime.fromtimestamp(int(stamp[14:].rstrip(";")), datetime.UTC)
            exp.update(date=t.strftime("%m-%d"), year=t.year, time=t.strftime("%H:%M:%S"), utc=True)
        exp["level"] = "INFO"
        stmt = [x for x in ev if x.strip() and not x.startswith("#") and not banner(x)
                and not x.startswith("use ") and not x.startswith("SET timestamp=")]
        exp["message"] = "\n".join(stmt)
        user = next((x for x in ev if x.startswith("# User@Host: ")), None)
        if user:
            exp["fields"] = {"user.name": user[13:].split("[")[0].strip()}
        out.append(exp)
    with open(os.path.join(HERE, name[:-4] + ".expected.jsonl"), "w") as f:
        for e in out:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
    with open(os.path.join(HERE, name[:-4] + ".meta.json"), "w") as f:
        f.write(json.dumps({"multiline": "mysql-slow"}) + "\n")
