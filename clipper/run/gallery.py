"""The gallery (pure): index.html and index.md that list the clips of an output folder from its manifest.

Everything that comes from a note (titles, quotes, names, URLs) is untrusted: text is HTML-escaped, links are
kept only when they are http(s), file names are URL-quoted. The page needs no server and no build step: it
works from file:// with plain JavaScript.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlparse

POSTER_DIR = "posters"

Entry = Mapping[str, Any]


def poster_name(output: str) -> str:
    return f"{POSTER_DIR}/{output.rsplit('.', 1)[0]}.jpg"


def _safe_url(url: Any) -> str | None:
    if not isinstance(url, str):
        return None
    return url if urlparse(url).scheme in ("http", "https") else None


def _text(value: Any) -> str:
    return html.escape(str(value)) if value not in (None, "") else ""


def _duration(seconds: Any) -> str:
    if not isinstance(seconds, (int, float)):
        return ""
    whole = round(seconds)
    if whole >= 3600:
        return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"
    return f"{whole // 60}:{whole % 60:02d}"


def _size(size: Any) -> str:
    if not isinstance(size, int):
        return ""
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.0f} kB"


def _mime(name: str) -> str:
    return {"webm": "video/webm", "mkv": "video/x-matroska"}.get(name.rsplit(".", 1)[-1].lower(), "video/mp4")


def groups(entries: Sequence[Entry]) -> list[tuple[str, list[Entry]]]:
    """Clips by video, newest video first (upload date, then title), clips in time order."""
    by_video: dict[str, list[Entry]] = {}
    for entry in entries:
        by_video.setdefault(str(entry.get("video_id") or "?"), []).append(entry)
    ordered = sorted(by_video.items(), key=lambda item: str(item[1][0].get("video_title") or item[0]).lower())
    ordered.sort(key=lambda item: str(item[1][0].get("upload_date") or ""), reverse=True)
    return [(video_id, sorted(clips, key=lambda e: float(e.get("start") or 0))) for video_id, clips in ordered]


Cues = Sequence[tuple[float, float, str]]


def _card(entry: Entry, posters: Mapping[str, str], cues: Cues = ()) -> str:
    output = str(entry["output"])
    search = " ".join(str(entry.get(key) or "") for key in ("title", "quote", "speaker", "video_title", "channel"))
    search += " " + " ".join(str(tag) for tag in entry.get("tags") or ())
    poster = posters.get(output)
    captions = entry.get("captions") or {}
    # The cues are in the page: a browser refuses a .vtt file next to a page opened from disk (file://).
    cue_attr = ""
    if cues and isinstance(captions, dict) and captions.get("vtt"):
        data = json.dumps([[round(start, 3), round(end, 3), text] for start, end, text in cues], ensure_ascii=False)
        cue_attr = f' data-cues="{html.escape(data)}"'
    track = ""
    poster_attr = f' poster="{quote(poster)}"' if poster else ""
    moment = _safe_url(entry.get("moment_url"))
    source = _text(entry.get("video_title") or entry.get("video_id"))
    source_html = f'<a href="{html.escape(moment)}" rel="noopener noreferrer">{source}</a>' if moment else source
    start = entry.get("start")
    at = f" at {_duration(start)}" if isinstance(start, (int, float)) else ""
    size_attr, shape = "", ""
    width, height = entry.get("width"), entry.get("height")
    if isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0:
        # The player takes the clip's shape before it loads; a vertical (or square) clip is a card of its shape.
        size_attr = f' width="{width}" height="{height}"'
        shape = " vertical" if height > width else (" square" if height == width else "")
    speaker = f"<figcaption>{_text(entry.get('speaker'))}</figcaption>" if entry.get("speaker") else ""
    quote_html = f"<figure><blockquote>{_text(entry.get('quote'))}</blockquote>{speaker}</figure>" if entry.get(
        "quote") else ""  # fmt: skip
    return f"""<article class="card{shape}" data-search="{html.escape(search.lower())}">
<video controls preload="metadata"{size_attr}{poster_attr}{cue_attr} \
data-expected-duration="{_text(entry.get("duration"))}">\
<source src="{quote(output)}" type="{_mime(output)}">{track}</video>
<h3>{_text(entry.get("title") or output)}</h3>
{quote_html}
<p class="meta">{source_html}{_text(at)} · {_duration(entry.get("duration"))} · {_size(entry.get("size"))}\
 · <a href="{quote(output)}" download>{_text(output)}</a></p>
</article>"""


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Clips</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 1rem; color: #222; }}
header {{ display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; }}
#search {{ flex: 1; min-width: 14rem; font-size: 1rem; padding: .5rem; }}
.grid {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: 1rem; }}
.card {{ border: 1px solid #ddd; border-radius: 8px; padding: .75rem; background: #fafafa; }}
.card video {{ width: 100%; height: auto; border-radius: 4px; background: #000; }}
.card.vertical video, .card.square video {{ display: block; width: auto; max-width: 100%; height: 28rem;
  max-height: 70vh; margin: 0 auto; }}
.card.vertical {{ justify-self: center; }}
.card h3 {{ margin: .5rem 0 .25rem; font-size: 1.05rem; }}
blockquote {{ margin: .25rem 0; font-style: italic; }}
figure {{ margin: 0; }} figcaption {{ font-size: .9rem; color: #555; }}
.meta {{ font-size: .85rem; color: #555; }}
.hidden {{ display: none; }}
</style>
</head>
<body>
<header><h1>Clips</h1><input id="search" type="search" placeholder="Search titles, quotes, speakers…"
 aria-label="Search clips"><span id="count">{count} clips</span></header>
{sections}
<script>
for (const video of document.querySelectorAll("video[data-cues]")) {{
  const track = video.addTextTrack("captions", "Transcript", "en");
  for (const [start, end, text] of JSON.parse(video.dataset.cues)) track.addCue(new VTTCue(start, end, text));
  track.mode = "showing";
}}
const search = document.getElementById("search");
search.addEventListener("input", () => {{
  const words = search.value.toLowerCase().split(/\\s+/).filter(Boolean);
  let shown = 0;
  for (const section of document.querySelectorAll("section.video")) {{
    let visible = 0;
    for (const card of section.querySelectorAll(".card")) {{
      const match = words.every((word) => card.dataset.search.includes(word));
      card.classList.toggle("hidden", !match);
      visible += match;
    }}
    section.classList.toggle("hidden", visible === 0);
    shown += visible;
  }}
  document.getElementById("count").textContent = shown + " clips";
}});
</script>
</body>
</html>
"""


def gallery_html(entries: Sequence[Entry], posters: Mapping[str, str], cues: Mapping[str, Cues] | None = None) -> str:
    """index.html for the clips (manifest entries of clips that exist); ``posters`` maps clip -> poster file,
    ``cues`` clip -> its captions as (start, end, text)."""
    cues = cues or {}
    sections = []
    for video_id, clips in groups(entries):
        first = clips[0]
        channel = f" · {_text(first.get('channel'))}" if first.get("channel") else ""
        date = f" · {_text(first.get('upload_date'))}" if first.get("upload_date") else ""
        cards = "\n".join(_card(entry, posters, cues.get(str(entry["output"]), ())) for entry in clips)
        sections.append(f"""<section class="video" data-video="{html.escape(video_id)}">
<h2>{_text(first.get("video_title") or video_id)}<small>{channel}{date}</small></h2>
<div class="grid">
{cards}
</div>
</section>""")
    return PAGE.format(count=len(entries), sections="\n".join(sections))


def _md(text: Any) -> str:
    """Markdown-safe inline text: no markup, links or HTML from a note survive."""
    value = str(text or "").replace("\n", " ")
    for char in "\\`*_[]<>|#":
        value = value.replace(char, "\\" + char)
    return value


def _md_link(target: str) -> str:
    """A link's destination that stays one: percent-encoded but for the characters a URL is made of (no space,
    line break, bracket, parenthesis, quote or HTML), in ``<...>`` so even a renderer's odd rules find its end."""
    return f"<{quote(target, safe=_URL_CHARACTERS)}>"


_URL_CHARACTERS = "/:?#@!$&+,;=%-._~"


def gallery_markdown(entries: Sequence[Entry]) -> str:
    """index.md for the clips: every text from a note escaped, every link (the clip, its source) kept whole."""
    lines = ["# Clips", ""]
    for video_id, clips in groups(entries):
        first = clips[0]
        lines += [f"## {_md(first.get('video_title') or video_id)}", ""]
        for entry in clips:
            output = str(entry["output"])
            moment = _safe_url(entry.get("moment_url"))
            where = f" ([source]({_md_link(moment)}))" if moment else ""
            lines.append(f"- [{_md(entry.get('title') or output)}]({_md_link(output)}) · "
                         f"{_duration(entry.get('duration'))}{where}")  # fmt: skip
            if entry.get("quote"):
                speaker = f" — {_md(entry.get('speaker'))}" if entry.get("speaker") else ""
                lines.append(f"  > {_md(entry.get('quote'))}{speaker}")
        lines.append("")
    return "\n".join(lines)
