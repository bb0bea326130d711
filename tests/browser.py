"""Headless Chromium for the tests that look at pages and charts the way a reader's browser shows them."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def chromium() -> str:
    """The browser, installed through apt-get when we may (as `make test` does); skip only when we cannot."""
    found = shutil.which("chromium")
    if found is None and hasattr(os, "geteuid") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], capture_output=True, timeout=900)
        found = shutil.which("chromium")
    if found is None:
        pytest.skip("chromium is not installed and cannot be installed without root (apt-get install chromium)")
    return found


def run_chromium(profile: Path, *args: str) -> subprocess.CompletedProcess:
    """Chromium, headless and quiet (no network of its own, a throw-away profile), with these arguments."""
    return subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=300)
