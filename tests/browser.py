"""Headless Debian chromium for the browser tests (installed by `make browser`, never downloaded).

Without the background-networking flags chromium keeps dialling Google's hosts, which this
machine's closed network refuses many times a second.
"""

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
