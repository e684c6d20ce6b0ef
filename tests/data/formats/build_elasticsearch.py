"""Expectations for the Elasticsearch plain-log sample by string operations (independent of the library)."""

import json
import os

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "elasticsearch")

for name in sorted(os.listdir(HERE)):
    if not name.endswith(".log"):
        continue
    out = []
    for line in open(os.path.join(HERE, name)).read().splitlines():
        stamp, level, logger, rest = line[1:].split("]", 3)
        level, logger = level.lstrip("[").strip(), logger.lstrip("[").strip()
        rest = rest.lstrip(" ")
        fields = {"log.logger": logger}
        if rest.startswith("["):
            node, rest = rest[1:].split("] ", 1)
            if node:
                fields["host.name"] = node
        out.append(
            {
                "date": stamp[5:10],
                "year": int(stamp[:4]),
                "time": stamp[11:].replace(",", "."),
                "level": {"WARNING": "WARN"}.get(level, level),
                "message": rest,
                "fields": fields,
            }
        )
    with open(os.path.join(HERE, name[:-4] + ".expected.jsonl"), "w") as f:
        for e in out:
            f.write(json.dumps(e) + "\n")
