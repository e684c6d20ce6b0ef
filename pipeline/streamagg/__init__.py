"""Streaming aggregates: mergeable sketches and per-offset-range rollup partials (issue 17 item 2)."""
