"""Notes: reading a markdown note (front matter, highlights, clip commands, transcript); text only."""
