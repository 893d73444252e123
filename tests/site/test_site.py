"""The static site (issue 16, part 2): pages from committed entries and tables, links that
resolve, numbers that link to their records, honest verified marks, no network at view time,
and bad input refused without touching what is already written. The browser test is
test_site_browser.py."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil

import pytest
from site_pages import Page, sample_inputs

from pamdp_bench.analysis import leaderboard as L
from pamdp_bench.cli.main import main
from pamdp_bench.site import SITE_MARKER, SiteError, build_site
from pamdp_bench.site.build import STATIC_DIR

REPS = 200  # bootstrap replicates: the site's numbers are not under test here, its pages are


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> tuple[str, str, str]:
    root = tmp_path_factory.mktemp("site")
    edir, tdir = sample_inputs(str(root))
    out = str(root / "out")
    build_site(out, edir, tdir, reps=REPS)
    return out, edir, tdir


def _pages(out: str) -> dict[str, Page]:
    return {f: Page(os.path.join(out, f)) for f in sorted(os.listdir(out)) if f.endswith(".html")}


def test_vendored_libraries_are_the_published_files() -> None:
    """VENDOR.md's sha256 of each vendored file is the file's (an edit is noticed)."""
    vendor = os.path.join(STATIC_DIR, "vendor")
    with open(os.path.join(vendor, "VENDOR.md")) as f:
        listed = dict(re.findall(r"^\| `([^`]+)` .*`([0-9a-f]{64})` \|$", f.read(), re.M))
    assert set(listed) == {f for f in os.listdir(vendor) if f.endswith((".js", ".css"))}
    for name, digest in listed.items():
        with open(os.path.join(vendor, name), "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == digest, name


def test_board_has_a_row_per_entry_and_every_number_links_to_its_records(site) -> None:
    out, edir, _ = site
    entries = [L.load_entry(p) for p in L.entry_paths(edir)]
    index = Page(os.path.join(out, "index.html"))
    agents = sorted(r["data-agent"] for r in index.rows if "data-agent" in r)
    assert agents == sorted(e["agent"] for e in entries)
    numeric = [(td, link) for td, link in index.cells if "data-sort" in td]
    assert numeric and all(link for _, link in numeric)
    # the entry page shows every seed's final record of every env
    page = Page(os.path.join(out, "entry-quick__random.html"))
    e = next(e for e in entries if e["agent"] == "random")
    assert {f"r-quick--{env}--random" for env in e["envs"]} <= page.ids


def test_every_local_link_resolves_and_nothing_is_fetched_from_the_network(site) -> None:
    out, _, _ = site
    pages = _pages(out)
    assert {"index.html", "table-dlpa_repro.html", "table-offline_cpu-records.html",
            "env-Platform-v0.html", "env-CatchPoint-v0.html"} <= set(pages)
    for name, page in pages.items():
        for src in page.srcs:  # scripts, styles, images: from the site itself
            assert not re.match(r"^[a-z]+:|^//", src), (name, src)
            assert os.path.isfile(os.path.join(out, src)), (name, src)
        for href in page.hrefs:
            if re.match(r"^[a-z]+:", href):
                assert href.startswith(("https://", "http://")), (name, href)
                continue
            path, _, anchor = href.partition("#")
            target = os.path.join(out, path) if path else page.path
            assert os.path.isfile(target), (name, href)
            if anchor:
                assert anchor in pages[os.path.basename(target)].ids, (name, href)


def test_table_pages_show_every_row_linked_to_its_records(site) -> None:
    out, _, tdir = site
    for name in ("dlpa_repro", "offline_cpu"):
        with open(os.path.join(tdir, name, "scores.csv")) as f:
            n = sum(1 for _ in csv.DictReader(f))
        page = Page(os.path.join(out, f"table-{name}.html"))
        assert n and sum(r.get("class") == "score-row" for r in page.rows) == n
        linked = [link for td, link in page.cells if "data-sort" in td]
        assert sum(linked) >= 3 * n  # agent, and the score columns of every row
    records = [f for r, _, fs in os.walk(os.path.join(out, "records")) for f in fs]
    assert records and all(f.endswith(".jsonl") for f in records)


def test_env_pages_carry_curves_of_every_source(site) -> None:
    out, _, _ = site
    with open(os.path.join(out, "env-Platform-v0.html"), encoding="utf-8") as f:
        text = f.read()
    data = json.loads(re.search(r'<script type="application/json" id="chart-data">(.*?)'
                                r"</script>", text, re.S).group(1))
    titles = [c["title"] for c in data]
    assert any(t.startswith("leaderboard, protocol quick") for t in titles)
    assert any(t.startswith("table dlpa_repro") for t in titles)
    assert any("dataset pamdp/Platform-v0/" in t for t in titles)
    for c in data:
        for s in c["series"]:
            assert len(s["x"]) == len(s["mean"]) == len(s["lo"]) == len(s["hi"]) > 0
            assert s["x"] == sorted(s["x"])


def test_verified_mark_only_for_a_verdict_signed_under_the_key(tmp_path, monkeypatch) -> None:
    """Unsigned verdicts (the committed ones) are shown as such; a verdict signed under the
    renderer's key shows ✓; one bound to another digest is 'stale or foreign'."""
    edir, tdir = sample_inputs(str(tmp_path), entries={"quick__random", "quick__scripted"},
                               tables=())
    monkeypatch.delenv(L.VERDICT_KEY_ENV, raising=False)
    build_site(str(tmp_path / "a"), edir, tdir, reps=REPS)
    with open(tmp_path / "a" / "index.html", encoding="utf-8") as f:
        assert f.read().count('<td class="ok">') == 0
    for stem, digest in (("quick__random", None), ("quick__scripted", "0" * 64)):
        entry = L.load_entry(os.path.join(edir, f"{stem}.json"))
        verdict = {"entry_digest": digest or entry["entry_digest"], "verified": True,
                   "mode": "bitwise", "device_kind": "cpu", "all_envs": True}
        verdict["signature"] = L._sign(verdict, "k3y")
        with open(os.path.join(edir, f"{stem}.verification.json"), "w") as f:
            json.dump(verdict, f)
    monkeypatch.setenv(L.VERDICT_KEY_ENV, "k3y")
    build_site(str(tmp_path / "a"), edir, tdir, reps=REPS)  # replaces the earlier site
    index = Page(str(tmp_path / "a" / "index.html"))
    with open(index.path, encoding="utf-8") as f:
        text = f.read()
    assert re.search(r'data-agent="random">.*?<td class="ok">✓ bitwise \(cpu\)</td>', text, re.S)
    assert re.search(r'data-agent="scripted">.*?<td class="no">stale or foreign verdict</td>',
                     text, re.S)


def test_bad_input_is_refused_and_nothing_written_is_lost(tmp_path) -> None:
    edir, tdir = sample_inputs(str(tmp_path), entries={"quick__random"}, tables=())
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(SiteError, match="not a site written by"):
        build_site(str(precious), edir, tdir, reps=REPS)
    assert os.listdir(precious) == ["notes.txt"]
    with pytest.raises(SiteError, match="nothing to publish"):
        build_site(str(tmp_path / "x"), str(tmp_path / "no1"), str(tmp_path / "no2"))
    # a tampered entry is named, and the site already there stays as it was
    out = tmp_path / "out"
    build_site(str(out), edir, tdir, reps=REPS)
    before = sorted(os.listdir(out))
    with open(os.path.join(edir, "quick__random.json")) as f:
        entry = json.load(f)
    entry["records"][0]["return_mean"] += 1.0
    with open(os.path.join(edir, "quick__random.json"), "w") as f:
        json.dump(entry, f)
    with pytest.raises(SiteError, match="quick__random.json: not a valid leaderboard entry"):
        build_site(str(out), edir, tdir, reps=REPS)
    assert sorted(os.listdir(out)) == before and (out / SITE_MARKER).exists()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".site-")]


def test_cli_site(tmp_path, capsys) -> None:
    edir, tdir = sample_inputs(str(tmp_path), entries={"quick__scripted"}, tables=())
    out = tmp_path / "s"
    assert main(["pamdp-bench", "site", f"--out={out}", f"--entries={edir}",
                 f"--tables={tdir}"]) == 0
    assert "index.html" in capsys.readouterr().out
    assert (out / "index.html").exists() and (out / ".nojekyll").exists()
    shutil.rmtree(out)
    out.write_text("a file")
    assert main(["pamdp-bench", "site", f"--out={out}", f"--entries={edir}"]) == 2
    assert "exists and is not a directory" in capsys.readouterr().err
    assert out.read_text() == "a file"
