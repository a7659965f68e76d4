"""Static files served well without a proxy: fingerprinted names (cache for a year, since a
change makes a new name), gzip copies, served by WhiteNoise in front of Flask."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path

from whitenoise import WhiteNoise

_COMPRESSIBLE = {".css", ".js", ".svg", ".txt", ".html", ".json", ".map"}
_FINGERPRINTED = re.compile(r"\.[0-9a-f]{12}\.[A-Za-z0-9]+$")
ONE_YEAR = 365 * 24 * 3600


def _fingerprint(relative: str, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()[:12]
    stem, dot, ext = relative.rpartition(".")
    return f"{stem}.{digest}.{ext}" if dot else f"{relative}.{digest}"


def build(source: Path, cache_root: Path) -> tuple[Path, dict[str, str]]:
    """Copy `source` to a build folder named after its content, with fingerprinted copies
    and .gz files; return the folder and the manifest {name: fingerprinted name}. Safe when
    several workers start at once (built in a temporary folder, then renamed)."""
    files = sorted(p for p in source.rglob("*") if p.is_file())
    manifest: dict[str, str] = {}
    overall = hashlib.sha256()
    contents = {}
    for path in files:
        relative = path.relative_to(source).as_posix()
        data = path.read_bytes()
        contents[relative] = data
        manifest[relative] = _fingerprint(relative, data)
        overall.update(relative.encode() + b"\0" + data)
    target = cache_root / overall.hexdigest()[:16]
    if not target.exists():
        cache_root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=cache_root, prefix=".build-"))
        for relative, data in contents.items():
            for name in (relative, manifest[relative]):
                out = tmp / name
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(data)
                if out.suffix in _COMPRESSIBLE and len(data) > 256:
                    out.with_name(out.name + ".gz").write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
        try:
            os.rename(tmp, target)
        except OSError:  # another worker finished first
            shutil.rmtree(tmp, ignore_errors=True)
    return target, manifest


def init_app(app) -> None:
    """Serve /static/ through WhiteNoise and make url_for('static') give fingerprinted names."""
    source = Path(app.static_folder)
    build_dir, manifest = build(source, Path(app.instance_path) / "static-build")
    app.extensions["static_manifest"] = manifest

    @app.url_defaults
    def fingerprinted_static(endpoint, values):
        if endpoint == "static" and "filename" in values:
            values["filename"] = manifest.get(values["filename"], values["filename"])

    app.wsgi_app = WhiteNoise(
        app.wsgi_app,
        root=str(build_dir),
        prefix="static/",
        max_age=3600,
        immutable_file_test=lambda path, url: bool(_FINGERPRINTED.search(url)),
    )
