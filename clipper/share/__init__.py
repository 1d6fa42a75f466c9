"""Share: making clips ready to share (edges snapped to pauses, loudness, reframing, captions)."""
