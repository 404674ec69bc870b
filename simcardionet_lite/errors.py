"""The one exception type for problems with a user's data or files.

Why: a reader who points a chapter at their own copy of a dataset must learn from the
message alone *which file* is wrong and *what to do*. Every loader raises
:class:`DataError` with both, instead of a bare ``KeyError`` or ``PIL`` traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class DataError(Exception):
    """A problem with user data: names the offending path and the fix."""

    def __init__(self, message: str, path: str | Path | None = None, fix: str | None = None) -> None:
        self.path = None if path is None else str(path)
        self.fix = fix
        text = message
        if path is not None:
            text = f"{text} [file: {path}]"
        if fix:
            text = f"{text}. What to do: {fix}"
        super().__init__(text)


def check_writable(path: str | Path, option: str, *, folder: bool = False) -> Path:
    """Refuse an output that cannot be written, before any work (``option`` names the flag).

    Why before: a command that computes for minutes and then fails on a read-only folder wastes
    the run; it must fail at once with the path and the fix. ``folder=True``: ``path`` is a
    folder (created if missing), else a file whose folder is created if missing.
    """
    import os

    path = Path(path)
    target = path if folder else path.parent
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create the folder for {option} ({exc.strerror})", path=target,
                        fix=f"pass a {option} in a folder you can write to") from exc
    if not os.access(target, os.W_OK) or (path.exists() and not folder and not os.access(path, os.W_OK)):
        raise DataError(f"cannot write {option} there (no write permission)", path=path,
                        fix=f"pass a {option} in a folder you can write to")
    return path


@dataclass
class SkipReport:
    """What a loader skipped and why; loaders return this instead of dropping silently."""

    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path or id, reason)

    def add(self, item: str | Path, reason: str) -> None:
        self.skipped.append((str(item), reason))

    def __len__(self) -> int:
        return len(self.skipped)

    def counts(self) -> dict[str, int]:
        """Number of skips per reason."""
        out: dict[str, int] = {}
        for _, reason in self.skipped:
            out[reason] = out.get(reason, 0) + 1
        return out

    def summary(self) -> str:
        if not self.skipped:
            return "nothing skipped"
        parts = ", ".join(f"{n} x {r}" for r, n in sorted(self.counts().items()))
        return f"skipped {len(self.skipped)}: {parts}"
