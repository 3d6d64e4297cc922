"""Files in and out: decoding photos, encoding images atomically, and writing a fit's outputs."""
