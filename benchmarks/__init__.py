"""Benchmarks: llm-cassette side by side with its peers (`python benchmarks/run.py`)."""
