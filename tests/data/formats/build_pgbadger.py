"""Sample pgbadger's jsonlog fixture and write expectations by reading its JSON keys (independent of the library).

The sample is every 50th line of ``t/fixtures/pg_vacuums.json.gz`` (PostgreSQL 15+ ``jsonlog``);
time of day, date and year are the first 23 characters of its ``timestamp`` key, the level is
``error_severity`` mapped to the five levels, the message is ``message`` as written.
"""

import gzip
import json
import os
import subprocess

REPO = os.environ.get("PGBADGER_GIT", "/work/.mirror/darold+pgbadger/repo")  # a clone of github.com/darold/pgbadger
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "postgresql-json")
LEVEL = {"LOG": "INFO", "INFO": "INFO", "NOTICE": "INFO", "WARNING": "WARN", "ERROR": "ERROR", "FATAL": "FATAL",
         "PANIC": "FATAL", "DEBUG1": "DEBUG", "DEBUG2": "DEBUG"}

if os.path.isdir(REPO):
    raw = subprocess.check_output(["git", "--git-dir", REPO, "show", "HEAD:t/fixtures/pg_vacuums.json.gz"])
    lines = gzip.decompress(raw).decode("utf-8").splitlines()[::50]
    with open(os.path.join(HERE, "pgbadger-pg_vacuums.log"), "w") as f:
        f.write("\n".join(lines) + "\n")

for name in sorted(os.listdir(HERE)):
    if not name.endswith(".log"):
        continue
    out = []
    for line in open(os.path.join(HERE, name)).read().splitlines():
        obj = json.loads(line)
        ts = obj["timestamp"]
        out.append({"date": ts[5:10], "year": int(ts[:4]), "time": ts[11:23],
                    "level": LEVEL[obj["error_severity"]], "message": obj["message"],
                    "fields": {"process.pid": obj["pid"]}})
    with open(os.path.join(HERE, name[:-4] + ".expected.jsonl"), "w") as f:
        for e in out:
            f.write(json.dumps(e) + "\n")
