"""LogHarbor pipeline package."""
