"""Past one machine: clip jobs through a Redis queue (Dramatiq). ``batch --broker`` submits one message per clip
and waits for the results; ``clipper worker`` processes on any machine that sees the output folder make them.
Loaded only with --broker or ``clipper worker`` (its packages are the ``queue`` extra)."""
