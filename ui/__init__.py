"""LogHarbor ui package."""
