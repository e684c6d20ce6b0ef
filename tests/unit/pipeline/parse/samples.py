"""Sample lines the parser tests share (moved from tests/unit/pipeline/test_parsers.py)."""

NGINX = '192.168.1.1 - - [19/Jan/2026:10:30:00 +0000] "GET /api/users HTTP/1.1" 200 1234 "-" "Mozilla/5.0"'
APP = "2026-01-19 10:30:00 ERROR [DatabaseService] Connection timeout after 30s"
SYSLOG_3164 = "<34>Jan 19 10:30:00 web-server app[1234]: User login failed"
SYSLOG_5424 = (
    "<165>1 2026-01-19T10:30:00.003Z mymachine.example.com evntslog 1234 ID47 "
    '[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event'
)
