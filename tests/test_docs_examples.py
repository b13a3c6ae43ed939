"""Every Python and shell example of the documentation (English and Spanish pages) runs, and
prints what the page says it prints. How blocks are found and run: ``tests/docs_examples.py``.

Each page runs in a subprocess in a fresh folder. A Spanish page whose examples (code and shown
output) are exactly its English twin's reuses that run instead of training the same networks
twice; the test says so by comparing the two pages' blocks."""

from __future__ import annotations

import doctest
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import docs_examples as dx

PAGES = [p for p in dx.pages() if dx.blocks(p)]
_RUNS: dict[str, list[dict[str, object]]] = {}
CHECKER = doctest.OutputChecker()
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _key(todo: list[dx.Block]) -> str:
    """The identity of a page's examples: same code and shown output, same run."""
    text = json.dumps([(b.kind, b.code, b.expected, b.skip) for b in todo])
    return hashlib.sha256(text.encode()).hexdigest()


def _run(todo: list[dx.Block], tmp: Path) -> list[dict[str, object]]:
    """Run the page's blocks in the runner subprocess, in ``tmp``."""
    key = _key(todo)
    if key not in _RUNS:
        dx.dump(todo, tmp / "blocks.json")
        env = dict(os.environ, COLUMNS="100", NO_COLOR="1", TERM="dumb", MPLBACKEND="Agg")
        env["RETROPROP_LANG"] = "en"  # the pages show English unless they pass --lang es
        env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(__file__).resolve().parents[1] / "src"), env.get("PYTHONPATH", "")]
        )
        subprocess.run(
            [sys.executable, dx.__file__, str(tmp / "blocks.json"), str(tmp / "results.json")],
            cwd=tmp,
            env=env,
            check=True,
            timeout=1200,
        )
        _RUNS[key] = json.loads((tmp / "results.json").read_text("utf-8"))
    return _RUNS[key]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(dx.DOCS)))
def test_page_examples_run_and_print_what_the_page_shows(page: Path, tmp_path: Path) -> None:
    todo = [b for b in dx.blocks(page) if b.skip is None]
    results = _run(todo, tmp_path)
    where = page.relative_to(dx.DOCS)
    for block, result in zip(todo, results, strict=False):
        assert result["error"] is None, (
            f"{where}:{block.line}: the example failed:\n{block.code}\n"
            f"--- output ---\n{result['output']}\n--- error ---\n{result['error']}"
        )
        if block.expected is not None:
            got = str(result["output"])
            assert CHECKER.check_output(block.expected, got, FLAGS), (
                f"{where}:{block.line}: printed output differs from the page:\n"
                f"--- page ---\n{block.expected}\n--- printed ---\n{got}"
            )
    assert len(results) == len(todo)


def test_skipped_examples_say_why_and_are_few() -> None:
    skipped = [(p, b) for p in dx.pages() for b in dx.blocks(p) if b.skip is not None]
    for page, block in skipped:
        assert block.skip and block.skip != "(no reason)", f"{page}:{block.line}: no reason"
    run = sum(1 for p in dx.pages() for b in dx.blocks(p) if b.skip is None)
    assert len(skipped) * 10 < run, f"{len(skipped)} skipped examples of {run + len(skipped)}"


def test_the_collector_pairs_code_with_its_output(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text(
        "```python\nprint(1)\n```\n\n```text\n1\n```\n\n<!-- docs-test: skip needs a cluster -->\n"
        "```bash\ndask scheduler\n```\nsome words\n\n```text\nnot output\n```\n"
        "```sh\necho hi\n```\nbetween\n```text\nnot output either\n```\n",
        "utf-8",
    )
    got = dx.blocks(page)
    assert [(b.kind, b.expected, b.skip) for b in got] == [
        ("python", "1\n", None),
        ("shell", None, "needs a cluster"),
        ("shell", None, None),
    ]
