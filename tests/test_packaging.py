"""Packaging: what the sdist and the wheel built from this tree carry, and what they declare.

Builds with hatchling in-process (the test extra has it), the way ``pip`` would without build
isolation. The wheel's front-end files are checked beside the grid
(``tests/test_grid.py::test_front_end_files_ship_in_the_wheel``).
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import re
import sys
import tarfile
import tomllib
import zipfile
from email.message import Message
from email.parser import Parser
from pathlib import Path

import pytest

import wsnb

REPO = Path(__file__).resolve().parents[1]

#: sha256 of the Apache Software Foundation's LICENSE-2.0.txt, byte for byte.
APACHE_2_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"


def _name(requirement: str) -> str:
    """A requirement's project name, normalised (PEP 503)."""
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match is not None, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


@pytest.fixture(scope="module")
def sdist(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The member names of an sdist built from this tree, without the ``wsnb-X/`` prefix."""
    builder = pytest.importorskip("hatchling.builders.sdist")
    built = next(
        builder.SdistBuilder(str(REPO)).build(
            directory=str(tmp_path_factory.mktemp("sdist")), versions=["standard"]
        )
    )
    with tarfile.open(built) as archive:
        names = archive.getnames()
    prefix = f"wsnb-{wsnb.__version__}/"
    assert all(n.startswith(prefix) or n == prefix.rstrip("/") for n in names)
    return [n.removeprefix(prefix) for n in names]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    builder = pytest.importorskip("hatchling.builders.wheel")
    built = next(
        builder.WheelBuilder(str(REPO)).build(
            directory=str(tmp_path_factory.mktemp("wheel")), versions=["standard"]
        )
    )
    return Path(built)


def _metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as archive:
        text = archive.read(f"wsnb-{wsnb.__version__}.dist-info/METADATA").decode()
    return Parser().parsestr(text)


def test_sdist_carries_tests_notebooks_docs_and_the_rest(sdist: list[str]) -> None:
    files = set(sdist)
    for name in ("LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml", "Makefile", ".ci/run"):
        assert name in files, name
    for folder, example in {
        "wsnb": "wsnb/report.py",
        "tests": "tests/conftest.py",
        "notebooks": "notebooks/demo.ipynb",
        "docs": "docs/internals.md",
        "bench": "bench/__main__.py",
        "examples": "examples/airflow/wsnb_fleet_cleanup.py",
        "binder": "binder/postBuild",
    }.items():
        assert example in files, folder
        tracked = {p.relative_to(REPO).as_posix() for p in (REPO / folder).rglob("*.py")}
        assert tracked - {p for p in tracked if "__pycache__" in p} <= files, folder
    assert not [n for n in sdist if "__pycache__" in n or n.endswith((".pyc", ".sqlite"))]


def test_wheel_metadata_license_and_notebooks(wheel: Path) -> None:
    meta = _metadata(wheel)
    assert meta["Version"] == wsnb.__version__
    assert meta["License-Expression"] == "Apache-2.0"
    assert not [c for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])
    assert set(urls) == {"Homepage", "Documentation", "Issues", "Changelog"}
    assert all(u.startswith("https://") for u in urls.values())
    requires = {_name(r) for r in meta.get_all("Requires-Dist") or [] if "extra ==" not in r}
    assert not requires & {"matplotlib", "jinja2"}  # the chart is SVG; nbconvert brings jinja2
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        shipped = archive.read(f"wsnb-{wsnb.__version__}.dist-info/licenses/LICENSE")
    assert shipped == (REPO / "LICENSE").read_bytes()
    assert {f"wsnb/notebooks/{n.name}" for n in (REPO / "notebooks").glob("*.ipynb")} <= names
    assert not [n for n in names if n.startswith(("tests/", "bench/"))]


def test_every_third_party_import_is_a_declared_dependency() -> None:
    """A module of ours importing a package only some dependency brings (numpy through pandas,
    say) would break when that dependency changes its own requirements."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = {_name(r) for r in project["dependencies"]}
    # a feature extra's package, imported only when the feature is used (the PostgreSQL ledger)
    declared |= {_name(r) for r in project["optional-dependencies"]["postgres"]}
    owners = importlib.metadata.packages_distributions()
    imported: set[str] = set()
    for path in (REPO / "wsnb").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"wsnb", "__future__"}
    needed = {_name(owners[m][0]) for m in third_party}
    assert needed - declared == set()
    assert "matplotlib" not in third_party


def test_the_version_lives_in_one_place() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"]
    assert pyproject["project"]["dynamic"] == ["version"]
    assert pyproject["tool"]["hatch"]["version"]["path"] == "wsnb/__init__.py"
    holders = [
        p.relative_to(REPO).as_posix()
        for pattern in ("wsnb/**/*.py", "*.toml", "*.md", "docs/*.md", "binder/*", "notebooks/*")
        for p in REPO.glob(pattern)
        if p.is_file() and f'"{wsnb.__version__}"' in p.read_text(errors="replace")
    ]
    assert holders == ["wsnb/__init__.py"]


def test_license_is_the_full_apache_2_text() -> None:
    text = (REPO / "LICENSE").read_bytes()
    assert hashlib.sha256(text).hexdigest() == APACHE_2_SHA256
    assert b"TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text


def test_changelog_keeps_an_unreleased_section_and_the_current_version() -> None:
    changelog = (REPO / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## \[([^\]]+)\]", changelog, flags=re.MULTILINE)
    assert headings[0] == "Unreleased"
    assert wsnb.__version__ in headings
    for heading in headings:  # every version heading has its link at the bottom
        assert re.search(rf"^\[{re.escape(heading)}\]: https://", changelog, flags=re.MULTILINE)
