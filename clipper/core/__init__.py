"""Core: errors, timecodes, text and the media stream type every stage shares (imports nothing of clipper)."""
