"""Expectations for the PostgreSQL samples by plain string operations (independent of the library).

An event is a line plus the lines after it that are tab-indented or whose severity is one of the
secondary ones (DETAIL, HINT, STATEMENT, CONTEXT, QUERY, LOCATION), as PostgreSQL writes them.
"""

import json
import os

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "postgresql")
SECONDARY = ("DETAIL", "HINT", "STATEMENT", "CONTEXT", "QUERY", "LOCATION")
LEVEL = {
    "LOG": "INFO",
    "INFO": "INFO",
    "NOTICE": "INFO",
    "WARNING": "WARN",
    "ERROR": "ERROR",
    "FATAL": "FATAL",
    "PANIC": "FATAL",
}


def secondary(line):
    return line.startswith("\t") or any(f" {s}:  " in line for s in SECONDARY)


for name in sorted(os.listdir(HERE)):
    if not name.endswith(".log"):
        continue
    events = []
    for line in open(os.path.join(HERE, name)).read().splitlines():
        if events and secondary(line):
            events[-1].append(line)
        else:
            events.append([line])
    out = []
    for ev in events:
        first = ev[0]
        clock = first[11:].split(" ")[0]
        sev = next(w for w in LEVEL if f" {w}:  " in first)
        msg = first.split(f" {sev}:  ", 1)[1]
        msg = "\n".join([msg] + [x for x in ev[1:] if x.startswith("\t")])
        pid = first.split("[", 1)[1].split("]")[0].split("-")[0]
        out.append(
            {
                "date": first[5:10],
                "year": int(first[:4]),
                "time": clock,
                "level": LEVEL[sev],
                "message": msg,
                "fields": {"process.pid": int(pid)},
            }
        )
    with open(os.path.join(HERE, name[:-4] + ".expected.jsonl"), "w") as f:
        for e in out:
            f.write(json.dumps(e) + "\n")
