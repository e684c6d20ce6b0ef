"""The user_agent step on 500 real user agents from uap-core's test cases (tests/data/user_agents)."""

from __future__ import annotations

from ops.bench import ua_legacy_table
from ops.bench.user_agents import load_corpus, score
from pipeline.enrich import user_agent


def test_the_step_uses_the_rust_resolver() -> None:
    # ua-parser-rs is a dependency (pyproject): the Python resolver is ~20x slower per new agent.
    assert user_agent.ENGINE == "ua-parser-rs"


def test_uap_core_answers_on_the_real_corpus() -> None:
    corpus = load_corpus()
    assert len(corpus) == 500
    result = score(user_agent.parse_user_agent, corpus)
    assert result["accuracy"] >= 0.99, result
    for field, (share, n) in result["fields"].items():
        assert n >= 100 and share >= 0.99, (field, share, n)


def test_at_least_as_accurate_as_the_old_table_everywhere() -> None:
    corpus = load_corpus()
    for mainstream in (False, True):
        new = score(user_agent.parse_user_agent, corpus, mainstream=mainstream)
        old = score(ua_legacy_table.parse_user_agent, corpus, mainstream=mainstream)
        assert new["strings"] == old["strings"] > 50
        assert new["accuracy"] > old["accuracy"] + 0.5, (new["accuracy"], old["accuracy"])
        for field, (share, n) in new["fields"].items():
            assert n == 0 or share >= old["fields"][field][0], field


def test_long_and_odd_strings() -> None:
    assert user_agent.parse_user_agent("x" * 100_000)["name"] == "Other"
    assert user_agent.parse_user_agent("")["name"] == "Other"
