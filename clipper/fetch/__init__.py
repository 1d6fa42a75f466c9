"""Fetch: yt-dlp (formats, sections, downloads), the network guard and the local relay."""
