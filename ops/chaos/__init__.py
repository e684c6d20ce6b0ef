"""``logharbor chaos``: fault scenarios under load with a conservation oracle (docs/RELIABILITY.md)."""
