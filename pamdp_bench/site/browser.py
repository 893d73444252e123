"""Headless Chromium for the site: open a page, wait for its scripts, take a screenshot.

[choice] Selenium with the system's Chromium and ChromeDriver (Debian's ``chromium`` and
``chromium-driver``, one version by construction) rather than Playwright's downloaded browsers:
nothing is fetched at test time and the driver always matches the browser.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
DRIVERS = ("chromedriver",)


class BrowserUnavailable(RuntimeError):
    """No headless Chromium (or its driver, or selenium) on this machine."""


def _which(names: tuple[str, ...], env: str) -> str | None:
    if os.environ.get(env):
        return os.environ[env]
    for n in names:
        path = shutil.which(n) or (f"/usr/lib/chromium/{n}" if os.path.exists(
            f"/usr/lib/chromium/{n}") else None)
        if path:
            return path
    return None


def find() -> tuple[str, str]:
    """``(browser, driver)`` paths (``PAMDP_CHROMIUM`` / ``PAMDP_CHROMEDRIVER`` override)."""
    browser = _which(BROWSERS, "PAMDP_CHROMIUM")
    driver = _which(DRIVERS, "PAMDP_CHROMEDRIVER")
    if not browser or not driver:
        raise BrowserUnavailable(
            "headless Chromium needs the chromium and chromedriver binaries (Debian: `apt-get "
            "install chromium chromium-driver`; or set PAMDP_CHROMIUM / PAMDP_CHROMEDRIVER)")
    try:
        import selenium  # noqa: F401
    except ImportError as err:
        raise BrowserUnavailable("the browser checks need selenium (`pip install "
                                 "'pamdp-bench[site-test]'`)") from err
    return browser, driver


def open_browser(width: int = 1400, height: int = 1000) -> Any:
    """A headless Chromium WebDriver with the browser console log enabled."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver = find()
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},{height}", "--hide-scrollbars"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=opts)


def load(drv: Any, path: str, timeout: float = 20.0) -> None:
    """Open a local page and wait until its script has run (``body[data-ready]``)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    drv.get("file://" + os.path.abspath(path))
    WebDriverWait(drv, timeout).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "body[data-ready='1']")))


def console_errors(drv: Any) -> list[str]:
    return [e["message"] for e in drv.get_log("browser") if e.get("level") == "SEVERE"]


def screenshot(page: str, png: str, width: int = 1400, height: int = 900) -> str:
    """Render ``page`` in headless Chromium and save a PNG of the window."""
    drv = open_browser(width, height)
    try:
        load(drv, page)
        os.makedirs(os.path.dirname(os.path.abspath(png)), exist_ok=True)
        drv.save_screenshot(png)
    finally:
        drv.quit()
    return png
