"""LogHarbor opensearch package."""
