"""Headless Chromium driven by Selenium, and a page helper that waits on visible text and, when
a wait or a check fails, keeps what the browser showed."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Literal, NoReturn, TypeVar

import pytest
from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

# Debian's packages (`make browser` installs them). Both paths are given to Selenium, so its
# Selenium Manager never looks for, or downloads, a browser or a driver of its own.
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# The screenshots in docs/images are taken at this size.
WINDOW_SIZE = (2200, 1500)

T = TypeVar("T")


def start_chromium() -> WebDriver:
    """Headless Chromium; fails the test, saying how to install it, when it is missing."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.is_file()]
    if missing:
        pytest.fail(
            f"the browser tests need Debian's chromium and chromedriver; missing: "
            f"{', '.join(missing)}. Install them with `make browser` (apt-get install chromium "
            "chromium-driver).",
            pytrace=False,
        )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # the suite may run as root, or in a container without user namespaces
        "--disable-dev-shm-usage",
        f"--window-size={WINDOW_SIZE[0]},{WINDOW_SIZE[1]}",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    try:
        return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    except WebDriverException as error:
        pytest.fail(f"chromedriver could not start {CHROMIUM}: {error.msg}", pytrace=False)


def exact_text(text: str) -> str:
    """XPath of the elements whose own text is `text` (no quotes in it)."""
    return f"//*[normalize-space(text())='{text}']"


def text_starting(prefix: str) -> str:
    """XPath of the elements whose own text starts with `prefix` (no quotes in it)."""
    return f"//*[starts-with(normalize-space(text()), '{prefix}')]"


class Page:
    """One test's view of the UI: it opens paths of `base_url`, waits on what is visible, saves
    named screenshots in `screenshots`, and on failure leaves a screenshot and the page source
    in `artifacts`, named in the assertion message with `logs` (the UI's output)."""

    def __init__(
        self, driver: WebDriver, base_url: str, screenshots: Path, artifacts: Path, logs: Path
    ) -> None:
        self.driver = driver
        self.base_url = base_url
        self.screenshots = screenshots
        self.artifacts = artifacts
        self.logs = logs

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    def wait(
        self, what: str, condition: Callable[[WebDriver], T | Literal[False]], timeout: float = 30
    ) -> T:
        try:
            return WebDriverWait(
                self.driver,
                timeout,
                poll_frequency=0.25,
                ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
            ).until(condition)
        except TimeoutException:
            self.fail(f"waited {timeout:.0f}s for {what}")

    def text(self) -> str:
        """The page's visible text, one line per block (as a user reads it)."""
        return self.driver.find_element(By.TAG_NAME, "body").text

    def wait_text(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        """The first match of the regular expression `pattern` (multi-line: ^ and $ are a
        line's ends) in the visible text, once there is one. Reading a page's whole text takes
        long where it renders thousands of elements (a check's list of every partition): wait
        there for an element with `visible`."""
        compiled = re.compile(pattern, re.MULTILINE)

        def found(driver: WebDriver) -> re.Match[str] | Literal[False]:
            return compiled.search(self.text()) or False

        return self.wait(f"the text /{pattern}/", found, timeout)

    def visible(self, xpath: str, what: str, timeout: float = 30) -> WebElement:
        return self.wait(
            what, expected_conditions.visibility_of_element_located((By.XPATH, xpath)), timeout
        )

    def click(self, xpath: str, what: str, timeout: float = 30) -> None:
        element = self.wait(
            f"{what} to be clickable",
            expected_conditions.element_to_be_clickable((By.XPATH, xpath)),
            timeout,
        )
        element.click()

    def screenshot(self, name: str) -> Path:
        self.screenshots.mkdir(parents=True, exist_ok=True)
        path = self.screenshots / f"{name}.png"
        if not self.driver.save_screenshot(str(path)):
            self.fail(f"could not save the screenshot {path}")
        return path

    def check(self, condition: bool, message: str) -> None:
        if not condition:
            self.fail(message)

    def fail(self, message: str) -> NoReturn:
        self.artifacts.mkdir(parents=True, exist_ok=True)
        screenshot = self.artifacts / "failure.png"
        source = self.artifacts / "failure.html"
        try:
            url = self.driver.current_url
            self.driver.save_screenshot(str(screenshot))
            source.write_text(self.driver.page_source, encoding="utf-8")
        except WebDriverException as error:
            url = f"(the browser did not answer: {error.msg})"
        raise AssertionError(
            f"{message}\n  page: {url}\n  screenshot: {screenshot}\n  page source: {source}\n"
            f"  the UI's output: {self.logs}"
        )
