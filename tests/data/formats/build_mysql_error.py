"""Expectations for the MySQL/MariaDB error-log samples by plain string operations.

An event starts with a date (``2019-03-24T13:44:25.484123Z``, ``2019-10-16 17:24:15`` or
``161209 13:08:33``); other lines (``Version: ...``) belong to the event before them.
"""

import json
import os

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mysql-error")
LEVEL = {"[Note]": "INFO", "[System]": "INFO", "[Warning]": "WARN", "[ERROR]": "ERROR"}


def starts(line):
    return (line[:4].isdigit() and line[4:5] == "-") or (line[:6].isdigit() and line[6:7] == " ")


for name in sorted(os.listdir(HERE)):
    if not name.endswith(".log"):
        continue
    events = []
    for line in open(os.path.join(HERE, name)).read().splitlines():
        if events and not starts(line):
            events[-1].append(line)
        else:
            events.append([line])
    out = []
    for ev in events:
        first = ev[0]
        words = first.split(" ")
        if first[:6].isdigit() and first[6] == " ":  # 161209 13:08:33 ...
            year, date, clock = 2000 + int(first[:2]), f"{first[2:4]}-{first[4:6]}", words[1]
            rest = words[2:]
        else:
            year, date, clock = int(first[:4]), first[5:10], words[0][11:] if "T" in words[0] else words[1]
            clock = clock.rstrip("Z")
            rest = words[1:] if "T" in words[0] else words[2:]
        if rest and rest[0].isdigit():
            rest = rest[1:]  # thread id
        level = "INFO"
        if rest and rest[0] in LEVEL:
            level = LEVEL[rest[0]]
            rest = rest[1:]
            if rest and rest[0].startswith("[MY-"):
                rest = rest[2:]  # [MY-010116] [Server]
        msg = "\n".join([" ".join(rest), *ev[1:]])
        out.append({"date": date, "year": year, "time": clock[:15], "level": level, "message": msg})
    with open(os.path.join(HERE, name[:-4] + ".expected.jsonl"), "w") as f:
        for e in out:
            f.write(json.dumps(e) + "\n")
