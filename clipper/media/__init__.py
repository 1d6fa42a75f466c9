"""Media: ffmpeg and ffprobe (one runner for every process), cut and smart-cut argv, probing."""
