"""Expectations for the klog / glog samples by plain string operations (independent of the library).

A line is ``Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg`` (glog's documented header): the level
letter, month-day, time of day and thread id are split on spaces, the message is what follows the
first ``] ``. glog writes no year: none is expected (year inference is tested separately).
"""

import json
import os

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "klog")
LEVEL = {"I": "INFO", "W": "WARN", "E": "ERROR", "F": "FATAL"}

for name in sorted(os.listdir(HERE)):
    if not name.endswith(".log"):
        continue
    out = []
    for line in open(os.path.join(HERE, name), encoding="utf-8").read().splitlines():
        head, msg = line.split("] ", 1)
        words = head.split()
        src, _, lineno = words[3].rpartition(":")
        out.append({"date": f"{words[0][1:3]}-{words[0][3:5]}", "time": words[1], "level": LEVEL[words[0][0]],
                    "message": msg, "fields": {"process.thread.id": int(words[2]), "log.origin.file.name": src,
                                               "log.origin.file.line": int(lineno)}})
    with open(os.path.join(HERE, name[:-4] + ".expected.jsonl"), "w") as f:
        for e in out:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
