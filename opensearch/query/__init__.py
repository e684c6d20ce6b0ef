"""LogHarbor search syntax: one grammar, one AST, two back ends (OpenSearch DSL and in-memory).

Start reading at parser.py (text → bound AST), then dsl.py and matcher.py, which must agree;
tests/integration/test_query_differential.py checks that they do against a real OpenSearch.
User documentation: docs/QUERY.md.
"""

from opensearch.query.ast import Query
from opensearch.query.dsl import compile_query
from opensearch.query.errors import QuerySyntaxError
from opensearch.query.matcher import compile_matcher, matches
from opensearch.query.parser import parse
from opensearch.query.settings import QuerySettings
from opensearch.query.timeexpr import TimeExpressionError, parse_time_point, parse_time_range

__all__ = [
    "Query",
    "QuerySettings",
    "QuerySyntaxError",
    "TimeExpressionError",
    "compile_matcher",
    "compile_query",
    "matches",
    "parse",
    "parse_time_point",
    "parse_time_range",
]
