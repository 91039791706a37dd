"""One mutation per module, each with its input and payload types."""
