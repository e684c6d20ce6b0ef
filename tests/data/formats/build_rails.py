"""Expectations for the Ruby Logger / Rails samples by plain string operations (independent of the library).

Ruby's ``Logger::Formatter`` writes ``"%s, [%s #%d] %5s -- %s: %s"`` (severity letter, ISO time,
pid, severity, progname, message): the time is the bracket's date, the level the word before
`` -- ``, the message what follows the progname's ``: ``.
"""

import json
import os

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rails")
LEVEL = {"DEBUG": "DEBUG", "INFO": "INFO", "WARN": "WARN", "ERROR": "ERROR", "FATAL": "FATAL", "ANY": "INFO"}

for name in sorted(os.listdir(HERE)):
    if not name.endswith(".log"):
        continue
    out = []
    for line in open(os.path.join(HERE, name), encoding="utf-8").read().splitlines():
        head, rest = line.split(" -- ", 1)
        stamp, pid = head.split("[", 1)[1].split("]")[0].split(" #")
        msg = rest.split(": ", 1)[1] if ": " in rest else rest.partition(":")[2]
        out.append({"date": stamp[5:10], "year": int(stamp[:4]), "time": stamp[11:26],
                    "level": LEVEL[head.rsplit("]", 1)[1].strip()], "message": msg,
                    "fields": {"process.pid": int(pid)}})
    with open(os.path.join(HERE, name[:-4] + ".expected.jsonl"), "w") as f:
        for e in out:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
