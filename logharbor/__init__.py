"""Shared core of LogHarbor: settings, the event envelope contract, ids, levels and ECS names.

Every component may import this package; it imports nothing from the components, so it is
the one place for each fact the components must agree on.
"""

__version__ = "0.1.0"
