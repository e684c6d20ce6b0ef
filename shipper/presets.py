"""Presets for well-known log sources: multiline rules, format hints and the usual paths.

Why presets: a PostgreSQL ``ERROR`` line is followed by ``DETAIL``/``HINT``/``STATEMENT`` lines
that belong to it, a MySQL slow-log entry is a ``# Time:``/``# User@Host:`` block plus the
statement, a Go panic is a ``goroutine`` dump — getting those patterns right is not something
each operator should redo. ``multiline: {preset: NAME}`` on any file source, or ``engine:`` on a
``database`` source, applies them. The pipeline's format library (pipeline/parse/families/)
names the preset each family expects.
"""

from __future__ import annotations

from typing import Any

# preset name → MultilineConfig fields. "default" = the built-in rules (indented lines, Java
# "Caused by:"/exception headers, Python tracebacks), which suit Java and Python apps.
MULTILINE_PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    "java": {},
    "python": {},
    # java.util.logging SimpleFormatter: "Oct 18, 2015 6:01:47 PM class method" then "LEVEL: msg"
    "jul": {"start_pattern": r"^(?:[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d\d:\d\d [AP]M |\d\d-[A-Z][a-z]{2}-\d{4} )"},
    # .NET console logger: "info: Category[0]" then the message indented on the next line
    "dotnet": {"start_pattern": r"^(?:trce|dbug|info|warn|fail|crit): |^\S"},
    # A Go panic: "panic: ..." then blank lines, "goroutine N [running]:", frames and file:line.
    "go": {"start_pattern": r"^(?:\d{4}[/-]\d\d[/-]\d\d[T ]|[IWEF]\d{4} |panic: |fatal error: |\{|level=|time=)"},
    # Lines whose severity is DETAIL/HINT/STATEMENT/CONTEXT/QUERY/LOCATION (after any
    # log_line_prefix) and tab-indented statement lines belong to the entry before them.
    "postgres": {
        "continue_pattern": r"^(?:[ \t]|$|[^\n]{0,300}?\b(?:DETAIL|HINT|STATEMENT|CONTEXT|QUERY|LOCATION):  )"
    },
    # csvlog: a record starts with its timestamp; quoted fields may span lines.
    "postgres-csv": {"start_pattern": r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? [A-Za-z]*,"},
    # nginx error log: an entry starts with its date; FastCGI's "PHP message:" lines and stray
    # stderr prompts ("Enter PEM pass phrase:") belong to the entry before them.
    "nginx-error": {"start_pattern": r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \["},
    "mysql-error": {"start_pattern": r"^(?:\d{4}-\d\d-\d\d[T ]\d\d:|\d{6} [ \d]\d:)"},
    # "# Time:" (not always written) and "# User@Host:" open an entry; the header block stays together.
    "mysql-slow": {
        "start_pattern": r"^(?:# Time: |# User@Host: |/\S+, Version: |Tcp port: |Time\s+Id\s+Command)",
        "start_joins_header": True,
    },
    # Redis prints its ASCII-art banner as indented lines: the default rules join them.
    "redis": {},
    "mongodb": {"enabled": False},
}

# engine of a `database` source → (format hint sent to the gateway, multiline preset, usual paths)
DATABASE_PRESETS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "postgres": (
        "postgres",
        "postgres",
        ("/var/log/postgresql/postgresql-*.log", "/var/lib/postgresql/data/log/*.log",
         "/var/lib/pgsql/data/log/*.log"),
    ),
    "mysql": ("auto", "mysql-error", ("/var/log/mysql/error.log", "/var/log/mysqld.log")),
    "mariadb": ("auto", "mysql-error", ("/var/log/mysql/error.log", "/var/lib/mysql/*.err")),
    "mysql-slow": ("auto", "mysql-slow", ("/var/log/mysql/mysql-slow.log", "/var/lib/mysql/*-slow.log")),
    "redis": ("auto", "redis", ("/var/log/redis/redis-server.log", "/var/log/redis/*.log")),
    "mongodb": ("auto", "mongodb", ("/var/log/mongodb/mongod.log",)),
    "other": ("auto", "default", ()),
}


def multiline_for(preset: str) -> dict[str, Any]:
    """MultilineConfig fields of a preset; unknown names raise ValueError listing the known ones."""
    try:
        return dict(MULTILINE_PRESETS[preset])
    except KeyError:
        raise ValueError(f"unknown multiline preset {preset!r}; known: {', '.join(MULTILINE_PRESETS)}") from None
