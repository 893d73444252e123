"""Helpers of the site tests: build a site from committed results and read its pages back."""

from __future__ import annotations

import html.parser
import os
import shutil
from collections.abc import Iterable

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENTRIES = os.path.join(REPO, "results", "leaderboard", "entries")
TABLES = os.path.join(REPO, "results", "tables")
#: A small committed online table and the offline one: both table formats, little to copy.
SAMPLE_TABLES = ("dlpa_repro", "offline_cpu")


class Page(html.parser.HTMLParser):
    """Links, ids, table rows and script sources of one page."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.hrefs: list[str] = []
        self.srcs: list[str] = []
        self.ids: set[str] = set()
        self.rows: list[dict[str, str]] = []  # attributes of every <tr>
        self.cells: list[tuple[dict[str, str], bool]] = []  # <td> attributes, holds a link
        self._td: dict[str, str] | None = None
        self._td_link = False
        with open(path, encoding="utf-8") as f:
            self.feed(f.read())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and "href" in a:
            self.hrefs.append(a["href"])
            self._td_link = self._td_link or self._td is not None
        if tag == "link" and "href" in a:
            self.srcs.append(a["href"])
        if tag in ("script", "img") and "src" in a:
            self.srcs.append(a["src"])
        if tag == "tr":
            self.rows.append(a)
        if tag == "td":
            self._td, self._td_link = a, False

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._td is not None:
            self.cells.append((self._td, self._td_link))
            self._td = None


def sample_inputs(root: str, entries: Iterable[str] | None = None,
                  tables: Iterable[str] = SAMPLE_TABLES) -> tuple[str, str]:
    """Copies of committed entries (all, or the named stems, with their verdicts) and tables
    under ``root``, with a sources.json pointing at the committed run directories."""
    import json

    edir, tdir = os.path.join(root, "entries"), os.path.join(root, "tables")
    os.makedirs(edir)
    for f in sorted(os.listdir(ENTRIES)):
        stem = f.split(".")[0]
        if entries is None or stem in entries:
            shutil.copy(os.path.join(ENTRIES, f), edir)
    os.makedirs(tdir)
    with open(os.path.join(TABLES, "sources.json")) as f:
        sources = json.load(f)
    for t in tables:
        shutil.copytree(os.path.join(TABLES, t), os.path.join(tdir, t))
    with open(os.path.join(tdir, "sources.json"), "w") as f:
        json.dump({t: [os.path.join(REPO, s) for s in sources[t]] for t in tables}, f)
    return edir, tdir
