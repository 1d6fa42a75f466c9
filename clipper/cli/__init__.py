"""The face: the click commands, the dry-run script and the exit codes."""
