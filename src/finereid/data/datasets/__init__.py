"""Parsers, one per dataset layout; each returns a `finereid.data.ReIDDataset`."""
