"""Expectations for the nginx error-log samples by plain string operations (independent of the library).

nginx writes ``yyyy/MM/dd HH:mm:ss [level] pid#tid: [*connection ]message``; an entry starts with
that date, other lines (FastCGI's ``PHP message:`` lines, stray stderr prompts) belong to the entry
before them. Levels: debug, info/notice, warn, error, and crit/alert/emerg as FATAL.
"""

import json
import os
import re

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nginx-error")
LEVEL = {"debug": "DEBUG", "info": "INFO", "notice": "INFO", "warn": "WARN", "error": "ERROR", "crit": "FATAL",
         "alert": "FATAL", "emerg": "FATAL"}
START = re.compile(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[")

for name in sorted(os.listdir(HERE)):
    if not name.endswith(".log"):
        continue
    events = []
    for line in open(os.path.join(HERE, name), encoding="utf-8").read().splitlines():
        if events and not START.match(line):
            events[-1].append(line)
        else:
            events.append([line])
    out = []
    for ev in events:
        first = ev[0]
        level = first[21:].split("]", 1)[0]
        ids, _, msg = first.split("] ", 1)[1].partition(": ")
        pid, tid = ids.split("#")
        fields = {"process.pid": int(pid), "process.thread.id": int(tid)}
        if msg.startswith("*") and " " in msg and msg[1:].split(" ", 1)[0].isdigit():
            conn, msg = msg[1:].split(" ", 1)
            fields["nginx.error.connection_id"] = int(conn)
        out.append({"date": first[5:10].replace("/", "-"), "year": int(first[:4]), "time": first[11:19],
                    "level": LEVEL[level], "message": "\n".join([msg, *ev[1:]]), "fields": fields})
    with open(os.path.join(HERE, name[:-4] + ".expected.jsonl"), "w") as f:
        for e in out:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
    with open(os.path.join(HERE, name[:-4] + ".meta.json"), "w") as f:
        f.write(json.dumps({"multiline": "nginx-error"}) + "\n")
