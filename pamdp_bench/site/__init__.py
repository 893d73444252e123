"""The leaderboard, the committed result tables and every env's learning curves as a static web
site (``pamdp-bench site --out=DIR``, ``make site``): plain files that open from the file system
and can be published as they are (GitHub Pages style); no server, no network at view time."""

from pamdp_bench.site.build import SITE_MARKER, SiteError, SiteReport, build_site

__all__ = ["SITE_MARKER", "SiteError", "SiteReport", "build_site"]
