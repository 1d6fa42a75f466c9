"""Plan: the user's settings and the clip jobs a batch makes of its notes (pure)."""
