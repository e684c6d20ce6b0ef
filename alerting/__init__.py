"""LogHarbor alerting: rules on LogHarbor queries, evaluated scheduled and streaming, notified once.

Start at alerting/README.md; user documentation in docs/ALERTS.md.
"""
