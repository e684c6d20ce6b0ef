"""LogHarbor gateway package."""
