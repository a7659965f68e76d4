"""The FAQ: Markdown files in `faq/` parsed once, rendered safely, grouped by theme, searched.

Each file is one theme. Its first lines, before a line `---`, are `key: value` pairs
(`theme:` the title, `order:` a number for sorting). Then each `## Question` starts a
question; the Markdown below it, up to the next `## `, is the answer.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import nh3
from markdown_it import MarkdownIt

FAQ_DIR = Path(__file__).resolve().parents[2] / "faq"
_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_ALLOWED_TAGS = {
    "p",
    "ul",
    "ol",
    "li",
    "strong",
    "em",
    "a",
    "code",
    "br",
    "h3",
    "h4",
    "blockquote",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}


@dataclass
class Question:
    slug: str
    question: str
    answer_html: str
    search_text: str  # normalised question + answer text


@dataclass
class Theme:
    slug: str
    title: str
    order: int
    questions: list[Question] = field(default_factory=list)


def normalise(text: str) -> str:
    """Lower case, no accents, hyphens and apostrophes as spaces: "Tiers-déclarant" ~ "tiers declarant"."""
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"[-'’_/]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", normalise(text)).strip("-")[:80]


def render_markdown(text: str) -> str:
    html = _md.render(text)
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def _plain(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def parse_file(path: Path) -> Theme:
    text = path.read_text(encoding="utf-8")
    meta: dict[str, str] = {}
    if "\n---\n" in text:
        head, text = text.split("\n---\n", 1)
        for line in head.splitlines():
            if ":" in line:
                key, value = line.split(":", 1)
                meta[key.strip().lower()] = value.strip()
    title = meta.get("theme") or path.stem.replace("-", " ").capitalize()
    try:
        order = int(meta.get("order", "100"))
    except ValueError:
        order = 100
    theme = Theme(slug=slugify(title), title=title, order=order)
    for block in re.split(r"(?m)^## ", text)[1:]:
        question, _, answer = block.partition("\n")
        question = question.strip()
        answer_html = render_markdown(answer.strip())
        theme.questions.append(
            Question(
                slug=f"{theme.slug}-{slugify(question)}",
                question=question,
                answer_html=answer_html,
                search_text=normalise(question + " " + _plain(answer_html)),
            )
        )
    return theme


_cache: dict[str, tuple[tuple, list[Theme]]] = {}
_lock = threading.Lock()


def load(directory: Path | None = None) -> list[Theme]:
    """Every theme, sorted; parsed once and kept in memory until a file changes."""
    directory = Path(directory or FAQ_DIR)
    files = sorted(directory.glob("*.md"))
    stamp = tuple((f.name, f.stat().st_mtime_ns) for f in files)
    key = str(directory)
    cached = _cache.get(key)
    if cached and cached[0] == stamp:
        return cached[1]
    with _lock:
        themes = sorted((parse_file(f) for f in files), key=lambda t: (t.order, t.title))
        _cache[key] = (stamp, themes)
    return themes


def search(query: str, directory: Path | None = None) -> list[Theme]:
    """Themes holding only the questions that contain every word of `query` (accents ignored)."""
    themes = load(directory)
    words = normalise(query).split()
    if not words:
        return themes
    found = []
    for theme in themes:
        hits = [q for q in theme.questions if all(w in q.search_text for w in words)]
        if hits:
            found.append(Theme(slug=theme.slug, title=theme.title, order=theme.order, questions=hits))
    return found
