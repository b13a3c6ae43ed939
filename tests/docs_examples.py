"""The documentation's examples: collected from every page of ``docs/`` and run as a reader would.

Not a test module (no ``test_`` prefix): ``tests/test_docs_examples.py`` uses it, and it is also
the runner that a test starts in a subprocess for one page (``python tests/docs_examples.py
BLOCKS.json RESULTS.json``), in a fresh temporary folder.

The rules, which ``docs/index.md`` repeats for writers of pages:

- Every fenced ``python`` block and every ``bash`` (or ``sh``, ``shell``) block runs, in page
  order. The Python blocks of a page share one namespace, like a notebook; a shell block runs
  in ``bash -euo pipefail`` in the same folder, where ``retroprop`` and ``python`` are this
  interpreter's.
- A fenced ``text`` block right after a code block is that block's printed output (standard
  output and standard error together) and is checked with doctest's rules: whitespace runs
  compare equal and ``...`` matches anything.
- ``<!-- docs-test: skip REASON -->`` on the line before a block leaves it out; the tests list
  the skipped blocks and each needs a reason (installing packages, starting a cluster).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"
CODE_LANGS = {"python": "python", "py": "python", "bash": "shell", "sh": "shell", "shell": "shell"}
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+|~~~+)\s*(?P<info>[^\n]*)$")
SKIP = re.compile(r"<!--\s*docs-test:\s*skip\s*(?P<reason>.*?)\s*-->")


@dataclass
class Block:
    """One fenced block of a page: its kind (``python``, ``shell``), its code, the output the
    page shows after it (or None), its first line in the page and, if skipped, why."""

    kind: str
    code: str
    expected: str | None
    line: int
    skip: str | None = None


def pages() -> list[Path]:
    """Every Markdown page of the site, English and Spanish, in a stable order."""
    return sorted(p for p in DOCS.rglob("*.md") if "hooks" not in p.parts)


def _fenced(text: str) -> list[tuple[str, str, int, str | None]]:
    """The fenced blocks of a page: (language, code, first line, skip reason)."""
    lines = text.splitlines()
    found: list[tuple[str, str, int, str | None]] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence = len(m["indent"]), m["fence"]
        lang = (m["info"].split() or [""])[0].strip("{}.").lower()
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            j += 1
        body = "\n".join(line[indent:] for line in lines[i + 1 : j])
        before = lines[i - 1] if i > 0 else ""
        skip = SKIP.search(before)
        found.append((lang, body + "\n", i + 1, skip["reason"] or "(no reason)" if skip else None))
        i = j + 1
    return found


def blocks(page: Path) -> list[Block]:
    """The code blocks of ``page``, each with the ``text`` block that follows it, if any."""
    fenced = _fenced(page.read_text("utf-8"))
    found: list[Block] = []
    for k, (lang, code, line, skip) in enumerate(fenced):
        if lang not in CODE_LANGS:
            continue
        after = fenced[k + 1] if k + 1 < len(fenced) else None
        expected = None
        if after is not None and after[0] == "text" and _adjacent(page, line, code, after[2]):
            expected = after[1]
        found.append(Block(CODE_LANGS[lang], code, expected, line, skip))
    return found


def _adjacent(page: Path, line: int, code: str, next_line: int) -> bool:
    """Whether only blank lines separate a code block (from ``line``) and the next block."""
    lines = page.read_text("utf-8").splitlines()
    end = line + code.count("\n")  # the closing fence
    return all(not lines[k].strip() for k in range(end + 1, next_line - 1))


def run_blocks(todo: list[Block], bin_dir: str) -> list[dict[str, object]]:
    """Run the blocks in the current folder, in order; stop at the first failure. Each result:
    ``output`` and ``error`` (a traceback or exit status, or None)."""
    namespace: dict[str, object] = {"__name__": "__main__"}
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))
    results: list[dict[str, object]] = []
    for block in todo:
        if block.kind == "python":
            output, error = _run_python(block.code, namespace)
        else:
            output, error = _run_shell(block.code, env)
        results.append({"output": output, "error": error})
        if error:
            break
    return results


def _run_python(code: str, namespace: dict[str, object]) -> tuple[str, str | None]:
    """Execute ``code`` in ``namespace``; its printed output and the traceback if it raised."""
    buffer = io.StringIO()
    error = None
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
        try:
            exec(compile(code, "<docs example>", "exec"), namespace)
        except BaseException:
            error = traceback.format_exc()
    return buffer.getvalue(), error


def _run_shell(code: str, env: dict[str, str]) -> tuple[str, str | None]:
    """Run ``code`` with bash; its output (stdout and stderr) and a note if it failed."""
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", code],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
    )
    error = None if done.returncode == 0 else f"exit status {done.returncode}"
    return done.stdout, error


def write_bin(bin_dir: Path) -> None:
    """``retroprop`` and ``python`` commands that run this interpreter (and this checkout)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, args in (("retroprop", "-m retroprop"), ("python", ""), ("python3", "")):
        path = bin_dir / name
        path.write_text(f'#!/bin/sh\nexec "{sys.executable}" {args} "$@"\n', "utf-8")
        path.chmod(0o755)


def main(blocks_json: str, results_json: str) -> None:
    """Runner entry point: read the blocks, run them, write the results."""
    todo = [Block(**b) for b in json.loads(Path(blocks_json).read_text("utf-8"))]
    bin_dir = Path(blocks_json).parent / "bin"
    write_bin(bin_dir)
    results = run_blocks(todo, str(bin_dir))
    Path(results_json).write_text(json.dumps(results), "utf-8")


def dump(todo: list[Block], path: Path) -> None:
    """Write blocks for the runner."""
    path.write_text(json.dumps([asdict(b) for b in todo]), "utf-8")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
