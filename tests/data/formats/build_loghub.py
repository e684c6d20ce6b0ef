"""Extract a stride sample of loghub 2k files with expectations from the *_structured.csv (independent labels)."""

import csv
import datetime
import io
import json
import os
import subprocess

REPO = os.environ.get("LOGHUB_GIT", "/work/.mirror/logpai+loghub/repo")  # a clone of github.com/logpai/loghub
OUT = os.path.dirname(os.path.abspath(__file__))
LEVEL = {
    "D": "DEBUG",
    "V": "DEBUG",
    "I": "INFO",
    "W": "WARN",
    "E": "ERROR",
    "F": "FATAL",
    "A": "FATAL",
    "notice": "INFO",
    "error": "ERROR",
    "warn": "WARN",
    "info": "INFO",
    "INFO": "INFO",
    "WARN": "WARN",
    "WARNING": "WARN",
    "ERROR": "ERROR",
    "FATAL": "FATAL",
    "SEVERE": "ERROR",
    "DEBUG": "DEBUG",
    "Info": "INFO",
    "Warning": "WARN",
    "Error": "ERROR",
    "FAILURE": "ERROR",
    "TRACE": "DEBUG",
    "crit": "FATAL",
}


def show(p):
    return subprocess.run(["git", "-C", REPO, "show", f"HEAD:{p}"], capture_output=True, check=True).stdout.decode(
        "utf-8", "replace"
    )


def ms(t):  # "18:01:47,978" -> "18:01:47.978"
    return t.replace(",", ".")


def mon(m):
    return ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"].index(m) + 1


SPEC = {}


def exp_android(r):
    return dict(
        date=r["Date"],
        time=r["Time"],
        level=LEVEL[r["Level"]],
        fields={"process.pid": int(r["Pid"]), "process.thread.id": int(r["Tid"]), "log.logger": r["Component"]},
    )


def exp_apache(r):
    p = r["Time"].split()
    return dict(date=f"{mon(p[1]):02d}-{int(p[2]):02d}", year=int(p[4]), time=p[3], level=LEVEL[r["Level"]], fields={})


def exp_bgl(r):
    d, t = r["Time"][:10], r["Time"][11:].replace(".", ":", 2)
    return dict(
        date=d[5:],
        year=int(d[:4]),
        time=t,
        level=LEVEL[r["Level"]],
        fields={"host.name": r["Node"], "log.logger": r["Component"]},
    )


def exp_hdfs(r):
    d, t = r["Date"], r["Time"]
    return dict(
        date=f"{d[2:4]}-{d[4:6]}",
        year=2000 + int(d[:2]),
        time=f"{t[:2]}:{t[2:4]}:{t[4:6]}",
        level=LEVEL[r["Level"]],
        fields={"process.pid": int(r["Pid"]), "log.logger": r["Component"]},
    )


def exp_hpc(r):
    dt = datetime.datetime.fromtimestamp(int(r["Time"]), datetime.UTC)
    return dict(
        date=dt.strftime("%m-%d"),
        year=dt.year,
        time=dt.strftime("%H:%M:%S"),
        level="INFO",
        fields={"host.name": r["Node"]},
    )


def exp_hadoop(r):
    return dict(
        date=r["Date"][5:],
        year=int(r["Date"][:4]),
        time=ms(r["Time"]),
        level=LEVEL[r["Level"]],
        fields={"process.thread.name": r["Process"], "log.logger": r["Component"]},
    )


def exp_health(r):
    t = r["Time"]
    d, c = t.split("-")
    h, m, s, f = c.split(":")
    return dict(
        date=f"{d[4:6]}-{d[6:8]}",
        year=int(d[:4]),
        time=f"{int(h):02d}:{int(m):02d}:{int(s):02d}.{int(f):03d}",
        level="INFO",
        fields={"log.logger": r["Component"], "process.pid": int(r["Pid"])},
    )


def exp_linux(r):
    f = {"process.name": r["Component"]}
    if r["PID"]:
        f["process.pid"] = int(r["PID"])
    return dict(date=f"{mon(r['Month']):02d}-{int(r['Date']):02d}", time=r["Time"], level="INFO", fields=f)


def exp_mac(r):
    f = {"process.name": r["Component"], "host.name": r["User"]}
    if r["PID"]:
        f["process.pid"] = int(r["PID"])
    return dict(date=f"{mon(r['Month']):02d}-{int(r['Date']):02d}", time=r["Time"], level="INFO", fields=f)


def exp_ssh(r):
    return dict(
        date=f"{mon(r['Date']):02d}-{int(r['Day']):02d}",
        time=r["Time"],
        level="INFO",
        fields={"host.name": r["Component"], "process.pid": int(r["Pid"])},
    )


def exp_openstack(r):
    return dict(
        date=r["Date"][5:],
        year=int(r["Date"][:4]),
        time=r["Time"],
        level=LEVEL[r["Level"]],
        fields={"process.pid": int(r["Pid"]), "log.logger": r["Component"]},
    )


def exp_proxifier(r):
    d, t = r["Time"].split()
    return dict(date=d.replace(".", "-"), time=t, level="INFO", fields={"process.name": r["Program"]})


def exp_spark(r):
    y, m, d = r["Date"].split("/")
    return dict(
        date=f"{m}-{d}",
        year=2000 + int(y),
        time=r["Time"],
        level=LEVEL[r["Level"]],
        fields={"log.logger": r["Component"]},
    )


def exp_tbird(r):
    f = {"process.name": r["Component"]}
    if r["PID"]:
        f["process.pid"] = int(r["PID"])
    return dict(date=f"{mon(r['Month']):02d}-{int(r['Day']):02d}", time=r["Time"], level="INFO", fields=f)


def exp_windows(r):
    return dict(
        date=r["Date"][5:],
        year=int(r["Date"][:4]),
        time=r["Time"],
        level=LEVEL[r["Level"]],
        fields={"log.logger": r["Component"]},
    )


def exp_zk(r):
    return dict(date=r["Date"][5:], year=int(r["Date"][:4]), time=ms(r["Time"]), level=LEVEL[r["Level"]], fields={})


FAM = {  # loghub dir -> (family dir, expect fn)
    "Android": ("android-logcat", exp_android),
    "Apache": ("apache-error", exp_apache),
    "BGL": ("ras-bgl", exp_bgl),
    "HDFS": ("compact-date", exp_hdfs),
    "HPC": ("ras-hpc", exp_hpc),
    "Hadoop": ("java-log4j", exp_hadoop),
    "HealthApp": ("pipe-separated", exp_health),
    "Linux": ("syslog-bsd", exp_linux),
    "Mac": ("macos-syslog", exp_mac),
    "OpenSSH": ("syslog-bsd", exp_ssh),
    "OpenStack": ("python-oslo", exp_openstack),
    "Proxifier": ("bracketed-client", exp_proxifier),
    "Spark": ("java-log4j-short", exp_spark),
    "Thunderbird": ("ras-syslog", exp_tbird),
    "Windows": ("windows-cbs", exp_windows),
    "Zookeeper": ("java-log4j-dash", exp_zk),
}

for d, (fam, fn) in FAM.items():
    lines = show(f"{d}/{d}_2k.log").split("\n")
    rows = list(csv.DictReader(io.StringIO(show(f"{d}/{d}_2k.log_structured.csv"))))
    assert len(rows) <= len(lines), d
    stride = 16
    os.makedirs(f"{OUT}/{fam}", exist_ok=True)
    raw, exp = [], []
    for i in range(0, len(rows), stride):
        r = rows[i]
        line = lines[int(r["LineId"]) - 1]
        e = fn(r)
        e["message"] = r["Content"].strip()
        raw.append(line)
        exp.append(e)
    name = f"loghub-{d.lower()}"
    with open(f"{OUT}/{fam}/{name}.log", "w") as f:
        f.write("\n".join(raw) + "\n")
    with open(f"{OUT}/{fam}/{name}.expected.jsonl", "w") as f:
        for e in exp:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
    print(d, fam, len(raw))
