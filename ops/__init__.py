"""LogHarbor ops package."""
