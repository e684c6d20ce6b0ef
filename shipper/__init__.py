"""LogHarbor shipper package."""
