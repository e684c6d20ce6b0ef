"""Extract (EventId, Content) per line from loghub's 2k labelled samples into one CSV per system.

The labels (EventId = the true template) are loghub's, not the miner's: the accuracy test
compares the miner's grouping against them. Run with LOGHUB_GIT pointing at a clone of
github.com/logpai/loghub (default: the session mirror).
"""

import csv
import io
import os
import subprocess

REPO = os.environ.get("LOGHUB_GIT", "/work/.mirror/logpai+loghub/repo")
OUT = os.path.dirname(os.path.abspath(__file__))
SYSTEMS = (
    "Android", "Apache", "BGL", "HDFS", "HPC", "Hadoop", "HealthApp", "Linux", "Mac", "OpenSSH",
    "OpenStack", "Proxifier", "Spark", "Thunderbird", "Windows", "Zookeeper",
)


def main() -> None:
    for system in SYSTEMS:
        text = subprocess.run(
            ["git", "--git-dir", os.path.join(REPO, ".git") if os.path.isdir(os.path.join(REPO, ".git")) else REPO,
             "show", f"HEAD:{system}/{system}_2k.log_structured.csv"],
            check=True, capture_output=True, text=True,
        ).stdout
        rows = list(csv.DictReader(io.StringIO(text)))
        with open(os.path.join(OUT, f"{system.lower()}.csv"), "w", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(["EventId", "Content"])
            for row in rows:
                out.writerow([row["EventId"], row["Content"]])


if __name__ == "__main__":
    main()
