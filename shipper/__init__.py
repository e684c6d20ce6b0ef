"""LogHarbor shipper: the agent on every application host (see README.md and docs/SHIPPER.md).

Imports only ``logharbor`` (the shared core) and its own modules, so it stays small.
"""
