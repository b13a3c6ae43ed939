"""Files: where retroprop may write, and writing there atomically.

Every file retroprop writes (models, checkpoints, predictions, reports and their PNGs, plots,
step pages, network and ONNX files, search results) goes through :func:`atomic_path`, so these
rules hold for all of them, from the command line and from Python alike:

- a symbolic link is followed: its target is replaced, the link stays a link;
- only a regular file is ever replaced: a folder, device (``/dev/null``), FIFO or socket is
  refused with :class:`OutputPathError`, never turned into a file;
- a read-only file (no write permission; for root: no write bit at all) is refused;
- missing folders on the way are created; a folder we cannot write in is refused by name;
- the bytes go to a temporary file beside the target, are flushed to the disk and renamed into
  place: a crash leaves the old file or the new one, whole, never half of one.

A command adds its own rules with :func:`output_rules` (a context, so that every writer deep in
the views follows them without each taking the options): its inputs, which are never written
(compared by device and inode, links resolved), and ``force``. Without ``force`` an existing
file that is not ours is refused ("exists; pass --force to replace it") and a new file is
published with a hard link, which fails if the name appeared meanwhile: two runs racing for one
name never silently replace each other. Ours: a file this command wrote itself (the checkpoint
a run keeps rewriting), a file it was told it continues (``claim``), and a PNG drawn by
retroprop (:data:`PNG_METADATA` in its header). :meth:`OutputRules.check` applies the rules up
front, before any long work, so a refusal comes before the wait, not after it. Outside any
rules (a Python program saving a model) an existing regular file is replaced, as
``open(path, "w")`` would.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from pathlib import Path

from retroprop.errors import RetropropError

__all__ = [
    "PNG_METADATA",
    "OutputPathError",
    "OutputRules",
    "atomic_path",
    "is_stdout",
    "output_rules",
    "same_file",
]

PathLike = str | os.PathLike[str]
Identity = tuple[int, int]  # (st_dev, st_ino): one file, whatever the path or link to it

PNG_METADATA = {"Software": "retroprop"}
"""Metadata of every PNG retroprop draws; such a PNG is replaced without ``--force``."""
_PNG_MARK = b"tEXtSoftware\x00retroprop"
STDOUT_NAMES = ("-", "/dev/stdout")


class OutputPathError(RetropropError):
    """An output path retroprop refuses to write: not a regular file, read-only, an input, or
    an existing file without ``force``."""


@dataclass
class OutputRules:
    """What one command may write over (see the module's docs); ``with rules:`` makes every
    :func:`atomic_path` in the block follow them. Made by :func:`output_rules`.

    Attributes:
        force: replace existing files (``--force``); read-only files and inputs never.
        inputs: identity → name of every input, e.g. ``"DATA in.csv"``.
        ours: identities of files this command may replace without ``force``.
    """

    force: bool = True
    inputs: dict[Identity, str] = field(default_factory=dict)
    ours: set[Identity] = field(default_factory=set)
    _tokens: list[Token[OutputRules | None]] = field(default_factory=list, repr=False)

    def check(self, outputs: Mapping[str, PathLike | None]) -> None:
        """Check every output (option → path; None skipped) before the command's work starts:
        each may be written under these rules, and no two are the same file.

        Raises:
            OutputPathError: naming the option, the path and why.
        """
        seen: dict[object, str] = {}
        for option, path in outputs.items():
            if path is None:
                continue
            shown = f"{option} {os.fspath(path)}"
            real, st = _checked(path, self, shown)
            key = real if st is None else (st.st_dev, st.st_ino)
            if key in seen:
                raise OutputPathError(f"{shown}: the same file as {seen[key]}; give each its own")
            seen[key] = shown

    def claim(self, path: PathLike) -> None:
        """Mark the existing file ``path`` as ours to replace, even if it is an input (the
        checkpoint a resumed run continues)."""
        ident = _identity(path)
        if ident is not None:
            self.ours.add(ident)
            self.inputs.pop(ident, None)

    def __enter__(self) -> OutputRules:
        self._tokens.append(_RULES.set(self))
        return self

    def __exit__(self, *exc_info: object) -> None:
        _RULES.reset(self._tokens.pop())


_LIBRARY_RULES = OutputRules()  # from Python: replace files, as open(path, "w") would
_RULES: ContextVar[OutputRules | None] = ContextVar("retroprop_output_rules", default=None)


def output_rules(
    *, force: bool, inputs: Mapping[str, PathLike | None] | None = None
) -> OutputRules:
    """The rules of a command that reads ``inputs`` and replaces existing files if ``force``.

    Args:
        force: whether existing files that are not ours may be replaced (``--force``).
        inputs: name (``"DATA"``, ``"--resume"``) → path of each input the command reads;
            None entries are skipped. None of them will be written.
    """
    rules = OutputRules(force=force)
    for name, path in (inputs or {}).items():
        ident = None if path is None else _identity(path)
        if ident is not None:
            rules.inputs[ident] = f"{name} {path}"
    return rules


def is_stdout(path: PathLike | None) -> bool:
    """Whether ``path`` means standard output (``-`` or ``/dev/stdout``)."""
    return path is not None and os.fspath(path) in STDOUT_NAMES


def same_file(a: PathLike, b: PathLike) -> bool:
    """Whether ``a`` and ``b`` are one existing file (links followed, hard links included)."""
    ident = _identity(a)
    return ident is not None and ident == _identity(b)


@contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``'s real file; on success publish it there.

    Write the file to the yielded path. If the block raises, the temporary file is removed and
    ``path`` is left as it was (absent, or its previous content); an :class:`OSError` names
    ``path``, never the temporary file. The bytes are flushed to the disk (fsync) before the
    rename, so even a power cut leaves the old file or the new one, whole.

    Raises:
        OutputPathError: ``path`` breaks a rule of the module's docs (checked again just
            before publishing: a name that appeared meanwhile is refused without ``force``).
    """
    rules = _RULES.get() or _LIBRARY_RULES
    shown = os.fspath(path)
    target, st = _checked(path, rules, shown)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=target.suffix, dir=target.parent
        )
    except OSError as exc:
        raise _naming(exc, shown, None) from None
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        target, st = _checked(path, rules, shown)  # the world may have changed while we wrote
        # mkstemp makes the file private (0600); give it the mode a plain open() would have
        os.chmod(tmp, st.st_mode & 0o7777 if st else 0o666 & ~_umask())
        if st is None and not rules.force:
            _publish_new(tmp, target, shown)
        else:
            os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        _naming(exc, shown, tmp)
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if rules is not _LIBRARY_RULES:
        rules.claim(target)  # rewriting it later in the same command is ours to do
    _fsync_folder(target.parent)


# -- the rules ------------------------------------------------------------------------------
def _checked(path: PathLike, rules: OutputRules, shown: str) -> tuple[Path, os.stat_result | None]:
    """The real file writing ``path`` means (links followed) and its stat (None: absent),
    once every rule allows it; else an :class:`OutputPathError` starting with ``shown``."""
    if is_stdout(path):
        raise OutputPathError(f"{shown}: this output cannot go to standard output; name a file")
    real = Path(os.path.realpath(path))
    if real != Path(os.path.abspath(path)):
        shown = f"{shown} (a link to {real})"
    try:
        st: os.stat_result | None = os.stat(real)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputPathError(f"{shown}: cannot be written ({exc.strerror})") from None
    if st is not None:
        kind = _kind(st.st_mode)
        if kind:
            raise OutputPathError(
                f"{shown}: is {kind}, not a regular file; retroprop writes regular files only "
                "and never replaces anything else"
            )
        ident = (st.st_dev, st.st_ino)
        if ident in rules.inputs:
            raise OutputPathError(
                f"{shown}: is also the input {rules.inputs[ident]}; retroprop never writes "
                "over an input; choose another name"
            )
        if not os.access(real, os.W_OK) or not st.st_mode & 0o222:
            raise OutputPathError(
                f"{shown}: is read-only; retroprop does not replace it (not even with --force)"
            )
        if not rules.force and ident not in rules.ours and not _own_png(real):
            raise OutputPathError(f"{shown}: exists; pass --force to replace it")
    _check_folder(real.parent, shown)
    return real, st


def _kind(mode: int) -> str | None:
    """What a file that is not a regular file is (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    kinds = [
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
    ]
    return next((name for test, name in kinds if test(mode)), "a special file")


def _check_folder(folder: Path, shown: str) -> None:
    """The folder (or, if it is missing, the nearest existing one above it, where the missing
    ones will be created) is a folder we may write in."""
    existing = folder
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputPathError(f"{shown}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputPathError(f"{shown}: cannot write in the folder {existing} (permission denied)")


def _own_png(path: Path) -> bool:
    """Whether ``path`` is a PNG retroprop drew (its header names retroprop as the Software)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return head.startswith(b"\x89PNG\r\n\x1a\n") and _PNG_MARK in head


def _identity(path: PathLike) -> Identity | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


# -- writing --------------------------------------------------------------------------------
def _publish_new(tmp: str, target: Path, shown: str) -> None:
    """Put ``tmp`` at ``target`` only if nothing is there: a hard link, which fails if the name
    exists (where links are not supported, an exclusive create reserves the name first)."""
    exists = OutputPathError(
        f"{shown}: exists (it appeared while retroprop was working); pass --force to replace it"
    )
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise exists from None
    except OSError:  # no hard links here (FAT, some network file systems)
        try:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            raise exists from None
        os.replace(tmp, target)
        return
    os.unlink(tmp)


def _naming(exc: OSError, path: str, tmp: str | None) -> OSError:
    """``exc``, now naming the user's ``path`` where it named the temporary file (or nothing;
    with ``tmp`` None: whatever it named on the way there)."""
    if exc.errno is not None and (exc.filename is None or exc.filename == tmp or tmp is None):
        exc.filename = path  # (an OSError("message") has no file: its text would change)
    return exc


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; elsewhere folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on folders; the rename itself has happened
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask
