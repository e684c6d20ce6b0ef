"""Log patterns: an online Drain-style template miner, its id scheme, its OpenSearch store and its step."""
