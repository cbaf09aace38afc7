"""finereid: person re-identification with the fine-grained difference-aware pairwise (FDP) loss."""

__version__ = "0.2.0"
