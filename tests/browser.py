"""Headless Debian Chromium for browser tests, driven by Selenium with the Debian chromedriver."""

from __future__ import annotations

import os
import shutil

import pytest
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def chromium(width: int = 1920, height: int = 1080):  # type: ignore[no-untyped-def]
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip(
            "Debian chromium + chromium-driver are not installed "
            "(scripts/setup --test installs them)"
        )
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager download a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    browser = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    # The viewport exactly as a wall screen of this size has it (no browser chrome).
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )
    return browser


def texts(browser, selector: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Text of every element matching `selector`, read in one go (live updates replace nodes)."""
    return browser.execute_script(  # type: ignore[no-any-return]
        "return [...document.querySelectorAll(arguments[0])].map(e => e.innerText)", selector
    )


def ids(browser, selector: str) -> set[str]:  # type: ignore[no-untyped-def]
    return set(
        browser.execute_script(
            "return [...document.querySelectorAll(arguments[0])].map(e => e.id)", selector
        )
    )


def detached(element):  # type: ignore[no-untyped-def]
    """A wait condition: true once `element` has left the page.

    Selenium's `staleness_of` only knows the stale-element error. When Dash swaps the
    node while chromedriver is asking about it, Chromium answers with an inspector error
    instead ("Node with given id does not belong to the document"). That also means gone."""

    def gone(_browser) -> bool:  # type: ignore[no-untyped-def]
        try:
            element.is_enabled()  # any call on a node that has gone raises
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            if "does not belong to the document" in str(error):
                return True
            raise
        return False

    return gone
