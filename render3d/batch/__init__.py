"""Dataset runs: walking folders, the worker pool, the JSON Lines manifest and progress."""
