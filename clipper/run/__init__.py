"""Run: the steps that make each clip, the worker pool, the manifest, the folder lock and the outputs."""
