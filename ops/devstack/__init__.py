"""LogHarbor ops/devstack package."""
