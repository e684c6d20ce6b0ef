"""Sample two Tomcat catalina.out files (java.util.logging) and write expectations by string operations.

Tomcat 7's ``SimpleFormatter`` writes a record as ``Mmm d, yyyy h:mm:ss AM|PM class method`` then
``LEVEL: message`` (a Java stack trace may follow); Tomcat 8.5's ``OneLineFormatter`` writes
``dd-Mmm-yyyy HH:mm:ss.SSS LEVEL [thread] class.method message``. A record runs to the next date
line. The Tomcat 7 sample is every SEVERE and WARNING record and every 10th INFO record whose extra
lines, if any, are one Java stack trace (the shell's ``NOTE: Picked up ...`` lines between runs are
left out with their record); the message is the text after ``LEVEL: `` (a trace is not part of it).
JUL levels: SEVERE is ERROR, WARNING is WARN, CONFIG/FINE/FINER/FINEST are DEBUG.
"""

import json
import os
import re
import subprocess

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "java-jul")
TOMCAT7 = os.environ.get("TOMCAT7_GIT", "/work/.mirror/anish-fullstack+Tomcat-7.0.104/repo")
TOMCAT85 = os.environ.get("TOMCAT85_GIT", "/work/.mirror/977735287+Tomcat8.5/repo")
LEVEL = {"SEVERE": "ERROR", "WARNING": "WARN", "INFO": "INFO", "CONFIG": "DEBUG", "FINE": "DEBUG",
         "FINER": "DEBUG", "FINEST": "DEBUG"}
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
JUL_DATE = re.compile(r"[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d\d:\d\d [AP]M ")
ONE_LINE = re.compile(r"\d\d-[A-Z][a-z]{2}-\d{4} ")
TRACE_HEAD = re.compile(r"[\w.$]+(?:Exception|Error)\b")


def show(repo, path):
    return subprocess.check_output(["git", "--git-dir", repo, "show", f"HEAD:{path}"]).decode("utf-8").splitlines()


def records(lines, start):
    out = []
    for line in lines:
        if start.match(line):
            out.append([line])
        elif out and line.strip():
            out[-1].append(line)
    return out


def is_trace(extra):
    return not extra or (TRACE_HEAD.match(extra[0]) and all(
        x.startswith(("\t", "Caused by: ", "Caused by:")) for x in extra[1:]))


def write(name, picked, exp):
    with open(os.path.join(HERE, name + ".log"), "w") as f:
        f.write("\n".join("\n".join(r) for r in picked) + "\n")
    with open(os.path.join(HERE, name + ".expected.jsonl"), "w") as f:
        for e in exp:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
    with open(os.path.join(HERE, name + ".meta.json"), "w") as f:
        f.write(json.dumps({"multiline": "jul"}) + "\n")


if os.path.isdir(TOMCAT7):
    picked, exp, n_info = [], [], 0
    for rec in records(show(TOMCAT7, "logs/catalina.out"), JUL_DATE):
        if len(rec) < 2 or ": " not in rec[1] or rec[1].split(":")[0] not in LEVEL or not is_trace(rec[2:]):
            continue
        level = rec[1].split(":")[0]
        if level == "INFO":
            n_info += 1
            if n_info % 10:
                continue
        mon, day, year, clock, half, cls, *method = rec[0].split()
        h, m, s = clock.split(":")
        hour = int(h) % 12 + (12 if half == "PM" else 0)
        picked.append(rec)
        exp.append({"date": f"{MONTHS.index(mon) + 1:02d}-{int(day.rstrip(',')):02d}", "year": int(year),
                    "time": f"{hour:02d}:{m}:{s}", "level": LEVEL[level], "message": rec[1].split(": ", 1)[1],
                    "fields": {"log.logger": cls}})
    write("tomcat-7.0.104-catalina", picked, exp)

if os.path.isdir(TOMCAT85):
    picked, exp = [], []
    for rec in records(show(TOMCAT85, "logs/catalina.out"), ONE_LINE):
        date, clock, level, rest = rec[0].split(" ", 3)
        thread, _, rest = rest[1:].partition("] ")
        _, _, msg = rest.partition(" ")
        day, mon, year = date.split("-")
        picked.append(rec)
        exp.append({"date": f"{MONTHS.index(mon) + 1:02d}-{day}", "year": int(year), "time": clock,
                    "level": LEVEL[level], "message": "\n".join([msg, *rec[1:]]),
                    "fields": {"process.thread.name": thread}})
    write("tomcat-8.5.35-catalina", picked, exp)
