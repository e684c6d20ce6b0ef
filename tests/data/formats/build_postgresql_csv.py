"""Expectations for the PostgreSQL csvlog samples with Python's csv module (independent of the library).

A record is one csvlog row (quoted fields may hold newlines); time of day, date and year come from
column 1 (``log_time``), the level from column 12 (``error_severity``), the message is column 14
and the pid column 4, as PostgreSQL's documentation lists the csvlog columns.
"""

import csv
import json
import os

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "postgresql-csv")
LEVEL = {"LOG": "INFO", "INFO": "INFO", "NOTICE": "INFO", "WARNING": "WARN", "ERROR": "ERROR", "FATAL": "FATAL",
         "PANIC": "FATAL"}

for name in sorted(os.listdir(HERE)):
    if not name.endswith(".log"):
        continue
    out = []
    with open(os.path.join(HERE, name), newline="") as f:
        for row in csv.reader(f):
            ts = row[0]
            out.append({"date": ts[5:10], "year": int(ts[:4]), "time": ts[11:23], "level": LEVEL[row[11]],
                        "message": row[13], "fields": {"process.pid": int(row[3])}})
    with open(os.path.join(HERE, name[:-4] + ".expected.jsonl"), "w") as f:
        for e in out:
            f.write(json.dumps(e) + "\n")
    with open(os.path.join(HERE, name[:-4] + ".meta.json"), "w") as f:
        f.write(json.dumps({"multiline": "postgres-csv"}) + "\n")
