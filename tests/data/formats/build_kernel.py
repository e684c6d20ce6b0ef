"""Sample two public dmesg outputs and write expectations by string operations (independent of the library).

dmesg prints ``[seconds.micros] message``: seconds since boot, not a wall-clock time, so the
expected time is null (the parser must not invent one; the arrival time is used) and the uptime
is the extracted field. dmesg without ``-x`` prints no level: INFO, the library's default.
The samples are every 40th line of each file.
"""

import json
import os
import subprocess

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernel")
SOURCES = {
    "android-msm-dmesg": (os.environ.get("DMESG_ANDROID_GIT", "/work/.mirror/Fullthrotle+dmesg_logs/repo"),
                          "dmesg.log"),
    "surface-pro-7-dmesg": (os.environ.get("DMESG_SURFACE_GIT",
                                           "/work/.mirror/aleksfadini+linux-surface-pro-7-dump-files/repo"),
                            "old/dmesg.txt"),
}

for name, (repo, path) in SOURCES.items():
    if os.path.isdir(repo):
        text = subprocess.check_output(["git", "--git-dir", repo, "show", f"HEAD:{path}"]).decode("utf-8")
        with open(os.path.join(HERE, name + ".log"), "w") as f:
            f.write("\n".join(text.splitlines()[::40]) + "\n")

for name in sorted(os.listdir(HERE)):
    if not name.endswith(".log"):
        continue
    out = []
    for line in open(os.path.join(HERE, name), encoding="utf-8").read().splitlines():
        uptime, _, msg = line[1:].partition("] ")
        out.append({"time": None, "level": "INFO", "message": msg, "fields": {"host.uptime": uptime.strip()}})
    with open(os.path.join(HERE, name[:-4] + ".expected.jsonl"), "w") as f:
        for e in out:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
