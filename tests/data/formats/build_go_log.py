"""Sample Go ``log``-package output (Terraform and Packer crash logs) and write expectations by string operations.

Go's ``log`` writes ``yyyy/MM/dd HH:mm:ss message``; HashiCorp tools start the message with a
bracketed level (``[TRACE]``, ``[DEBUG]``, ``[INFO]``, ``[WARN]``, ``[ERR]``/``[ERROR]``), which is the
level (TRACE is DEBUG), and the message is what follows it; without one the level is INFO, the
library's documented default. An entry runs to the next line that starts with a date (the
shipper's ``go`` preset); continuation lines are part of the message. The samples are whole
entries: every 20th of Terraform 0.12's crash.log, every 30th of Terraform 0.9's, every one of
Packer's.
"""

import json
import os
import re
import subprocess

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "go-log")
SOURCES = {
    "terraform-0.12-crash": (os.environ.get("TF12_GIT", "/work/.mirror/Diz0m+terraform/repo"), 20),
    "terraform-0.9-crash": (os.environ.get("TF09_GIT", "/work/.mirror/AnuyogChauhan+sampleterraform/repo"), 30),
    "packer-1.6-crash": (os.environ.get("PACKER_GIT", "/work/.mirror/CHimaLeo+packer/repo"), 1),
}
START = re.compile(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ")
LEVEL = {"TRACE": "DEBUG", "DEBUG": "DEBUG", "INFO": "INFO", "WARN": "WARN", "ERR": "ERROR", "ERROR": "ERROR"}


def entries(lines):
    out = []
    for line in lines:
        if START.match(line):
            out.append([line])
        elif out:
            out[-1].append(line)
    return out


for name, (repo, every) in SOURCES.items():
    if os.path.isdir(repo):
        text = subprocess.check_output(["git", "--git-dir", repo, "show", "HEAD:crash.log"]).decode("utf-8")
        evs = entries(text.splitlines())
        # an entry that runs into the panic dump at the end of a crash log is not Go log output
        picked = [e for e in evs[::every] if not any(x.startswith(("panic: ", "goroutine ")) for x in e)]
        with open(os.path.join(HERE, name + ".log"), "w") as f:
            f.write("\n".join("\n".join(e) for e in picked) + "\n")

for name in sorted(os.listdir(HERE)):
    if not name.endswith(".log"):
        continue
    out = []
    for ev in entries(open(os.path.join(HERE, name), encoding="utf-8").read().splitlines()):
        first = ev[0]
        msg, level = first[20:], "INFO"
        word = msg[1:].split("]", 1)[0] if msg.startswith("[") else ""
        if word in LEVEL:
            level, msg = LEVEL[word], msg[len(word) + 2:].lstrip(" ")
        out.append({"date": first[5:10].replace("/", "-"), "year": int(first[:4]), "time": first[11:19],
                    "level": level, "message": "\n".join([msg, *ev[1:]]).strip()})
    with open(os.path.join(HERE, name[:-4] + ".expected.jsonl"), "w") as f:
        for e in out:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
    with open(os.path.join(HERE, name[:-4] + ".meta.json"), "w") as f:
        f.write(json.dumps({"multiline": "go"}) + "\n")
