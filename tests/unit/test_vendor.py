"""The vendored htmx is the exact, unmodified npm release we recorded."""

import hashlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "static" / "vendor" / "htmx"


def test_htmx_file_matches_recorded_sha256():
    recorded = re.search(r"sha256: ([0-9a-f]{64})", (VENDOR / "VERSION").read_text()).group(1)
    actual = hashlib.sha256((VENDOR / "htmx.min.js").read_bytes()).hexdigest()
    assert actual == recorded == "a0abb04f2f45a1f89d1d4844023245537e5e6014c87b144553e0607b4cc32130"


def test_htmx_is_version_4_with_its_licence():
    assert "version: 4.0.1" in (VENDOR / "VERSION").read_text()
    assert "Zero-Clause BSD" in (VENDOR / "LICENSE").read_text()
    assert 'version="4.0.1"' in (VENDOR / "htmx.min.js").read_text()
