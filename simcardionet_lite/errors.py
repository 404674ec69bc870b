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
