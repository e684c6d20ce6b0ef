"""Expectations for the Redis samples, by plain string splitting (independent of the library's regexes)."""

import json
import os
import re

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "redis")
SYMBOL = {".": "DEBUG", "-": "DEBUG", "*": "INFO", "#": "WARN"}
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()

for name in sorted(os.listdir(HERE)):
    if not name.endswith(".log"):
        continue
    out = []
    for line in open(os.path.join(HERE, name)).read().splitlines():
        parts = line.split(" ")
        fields = {}
        if parts[0].startswith("["):
            fields["process.pid"] = int(parts[0][1:-1])
            parts = parts[1:]
        elif ":" in parts[0]:
            pid, role = parts[0].split(":")
            fields["process.pid"] = int(pid)
            fields["redis.log.role"] = {"M": "master", "S": "replica", "C": "child", "X": "sentinel"}[role]
            parts = parts[1:]
        day, mon = parts[0], parts[1]
        rest = parts[2:]
        if re.fullmatch(r"\d{4}", rest[0]):
            rest = rest[1:]
        clock, symbol, msg = rest[0], rest[1], " ".join(rest[2:])
        date = f"{MONTHS.index(mon) + 1:02d}-{int(day):02d}"
        out.append({"date": date, "time": clock, "level": SYMBOL[symbol], "message": msg, "fields": fields})
    with open(os.path.join(HERE, name[:-4] + ".expected.jsonl"), "w") as f:
        for e in out:
            f.write(json.dumps(e) + "\n")
