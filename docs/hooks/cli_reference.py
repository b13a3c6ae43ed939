"""mkdocs hook: the command-line reference, generated from the typer app at build time.

A page holding the line ``<!-- retroprop-cli-reference -->`` gets, in its place, one section
per ``retroprop`` command: its usage line, its help text (as ``--help`` prints it) and a table
of every argument and option with its type, default and help. Nothing is retyped, so the
reference cannot drift from the program.
"""

from __future__ import annotations

from typing import Any

MARKER = "<!-- retroprop-cli-reference -->"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Replace the marker (if the page has it) by the generated reference."""
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, cli_reference())


def cli_reference() -> str:
    """Markdown for every command of ``retroprop``, in the order ``retroprop --help`` lists them."""
    import typer.main

    from retroprop.cli.app import app

    group: Any = typer.main.get_command(app)  # typer's own click (vendored in typer >= 0.26)
    root = group.context_class(group, info_name="retroprop")
    names = group.list_commands(root)
    sections = [_command_section(name, group.commands[name], root) for name in names]
    return "\n\n".join(sections) + "\n"


def _command_section(name: str, command: Any, root: Any) -> str:
    """One command: heading, usage, help text (verbatim, as a text block) and options table."""
    ctx = command.context_class(command, info_name=name, parent=root)
    usage = " ".join(command.collect_usage_pieces(ctx))
    help_text = (command.help or "").strip()
    rows = [_param_row(param, ctx) for param in command.get_params(ctx)]
    table = "\n".join(
        ["| name | kind | description |", "| --- | --- | --- |"] + [row for row in rows if row]
    )
    return (
        f"## `retroprop {name}`\n\n```text\nretroprop {name} {usage}\n\n{help_text}\n```\n\n{table}"
    )


def _param_row(param: Any, ctx: Any) -> str:
    """A table row for an argument or option, from the record ``--help`` prints (names and
    metavar; help with its default and range). Empty for hidden parameters."""
    record = None if getattr(param, "hidden", False) else param.get_help_record(ctx)
    if record is None:
        return ""
    names, help_text = record
    kind = "argument" if param.param_type_name == "argument" else "option"
    return f"| `{names}` | {kind} | {_cell(help_text)} |"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    for char in "\\|[]<>*_`":  # no Markdown or HTML inside a cell: the text shows as written
        text = text.replace(char, "\\" + char)
    return " ".join(text.split())
