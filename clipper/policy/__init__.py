"""Policy: what clipper allows (public addresses, the clip command's options, yt-dlp arguments)."""
