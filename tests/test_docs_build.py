"""The documentation site builds with ``mkdocs build --strict`` (a broken link, a missing page or
a docstring warning fails), has every page in English and Spanish, works offline, and its
command-line reference lists every command and option of the program."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-5000:]
    return out


def _nav_pages() -> list[str]:
    """The pages the navigation of mkdocs.yml lists."""
    import yaml

    def walk(item: object) -> list[str]:
        if isinstance(item, str):
            return [item]
        if isinstance(item, dict):
            return [page for value in item.values() for page in walk(value)]
        if isinstance(item, list):
            return [page for value in item for page in walk(value)]
        return []

    return walk(yaml.safe_load((ROOT / "mkdocs.yml").read_text("utf-8"))["nav"])


def test_every_page_has_a_spanish_twin_and_is_in_the_navigation() -> None:
    nav = _nav_pages()
    english = sorted(
        str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md") if not p.name.endswith(".es.md")
    )
    assert sorted(nav) == english
    for page in english:
        twin = DOCS / page.replace(".md", ".es.md")
        assert twin.exists(), f"no Spanish page for {page}"
        assert twin.read_text("utf-8") != (DOCS / page).read_text("utf-8")


def test_the_site_builds_in_both_languages_and_needs_no_network(site: Path) -> None:
    for page in _nav_pages():
        html = page.replace(".md", ".html")
        assert (site / html).exists(), html
        assert (site / "es" / html).exists(), f"es/{html}"
    for html in site.rglob("*.html"):
        text = html.read_text("utf-8")
        external = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(https?:)?//[^"]*"', text)
        assert not external, f"{html}: loads {external}"
        assert "fonts.googleapis" not in text


def test_the_cli_reference_is_generated_from_the_program(site: Path) -> None:
    import typer.main

    from retroprop.cli.app import app

    group = typer.main.get_command(app)
    root = group.context_class(group, info_name="retroprop")  # type: ignore[attr-defined]
    text = (site / "reference" / "cli.html").read_text("utf-8")
    for name in group.list_commands(root):  # type: ignore[attr-defined]
        command = group.commands[name]  # type: ignore[attr-defined]
        assert f"retroprop {name}" in text
        ctx = command.context_class(command, info_name=name, parent=root)
        for param in command.get_params(ctx):
            if getattr(param, "hidden", False):
                continue
            record = param.get_help_record(ctx)  # what --help prints: names (and metavar)
            first = record[0].split(",")[0].split(" ")[0]
            assert f"<code>{first}" in text, (name, record)


def test_the_python_reference_documents_the_public_api(site: Path) -> None:
    import retroprop as rp

    text = (site / "reference" / "python.html").read_text("utf-8")
    for name in rp.__all__:
        if name.startswith("__") or name == "datasets":
            continue
        assert f'id="retroprop.{name}"' in text, name
