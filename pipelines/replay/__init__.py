"""Replays of recorded data onto the input topics: public datasets and JSONL files."""
