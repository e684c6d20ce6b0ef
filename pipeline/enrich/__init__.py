"""Enrichers: add context to an event. All are fail-open — a failing enricher is counted
(``logharbor_pipeline_enrich_failures``) and the event goes on without that context."""
