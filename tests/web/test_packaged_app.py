"""The web app ships inside the package, so `pip install .` (a wheel) serves it without
LINER_WEB_ROOT; LINER_WEB_ROOT still serves another folder."""

from __future__ import annotations

import shutil
import subprocess
import sys
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

import recsys
from recsys.service.web import DEFAULT_WEB_ROOT
from tests.web.conftest import WebRunning

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(recsys.__file__).resolve().parent


def _app_files() -> list[str]:
    return sorted(
        str(p.relative_to(PACKAGE.parent))
        for p in DEFAULT_WEB_ROOT.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )


def test_the_default_web_root_is_inside_the_package() -> None:
    assert DEFAULT_WEB_ROOT.is_relative_to(PACKAGE)
    assert "recsys/webapp/index.html" in _app_files()
    assert "recsys/webapp/vendor/liner-client.js" in _app_files()


def test_a_wheel_carries_every_file_of_the_web_app(tmp_path: Path) -> None:
    # Only the package's root and the app are copied: the wheel's package data is what the
    # pyproject.toml says, and building the whole tree would take much longer.
    src = tmp_path / "src"
    shutil.copytree(DEFAULT_WEB_ROOT, src / "recsys" / "webapp")
    shutil.copy(PACKAGE / "__init__.py", src / "recsys" / "__init__.py")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run(
        [*pip, "-w", str(tmp_path / "dist"), str(src)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    assert set(_app_files()) <= shipped, sorted(set(_app_files()) - shipped)


def test_liner_web_root_overrides_the_packaged_app(
    start_web: Callable[..., WebRunning], tmp_path: Path
) -> None:
    (tmp_path / "index.html").write_text("<title>Another app</title>")
    web = start_web(web_root=tmp_path)
    with urllib.request.urlopen(web.url + "/", timeout=10) as response:
        assert "<title>Another app</title>" in response.read().decode()
