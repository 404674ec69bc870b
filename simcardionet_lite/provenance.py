"""Which configuration fields the paper states and which are this project's own choices.

Why: the paper's methods are not available, so most of the pipeline is decided here. Every
field in ``simcardionet_lite/config.py`` carries a comment that starts with ``paper`` (stated
in the paper's known text) or ``ours`` (decided by this project). This module reads those
comments from the source, so the book's intro can render the full table of decisions and
``tests/test_config.py`` can fail when a new field arrives without its provenance.
"""

from __future__ import annotations

import ast
import inspect
import io
import tokenize
from dataclasses import dataclass, fields, is_dataclass
from types import ModuleType
from typing import Any

@dataclass(frozen=True)
class FieldProvenance:
    """One config field with the comment that documents it."""

    section: str  # "" for top-level Config fields, else the section name (data, model, ...)
    cls: str  # dataclass name
    name: str
    lineno: int
    comment: str | None  # text after '#', stripped; None when the field has no comment
    tag: str | None  # "paper" | "ours" | None (missing or unrecognised)


def _comments(source: str) -> dict[int, str]:
    out: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            out[tok.start[0]] = tok.string.lstrip("#").strip()
    return out


def _tag(comment: str | None) -> str | None:
    if not comment:
        return None
    head = comment.split(":", 1)[0].split("(", 1)[0].strip().lower()
    first = head.split()[0] if head.split() else ""
    return first if first in ("paper", "ours") else None


def field_provenance(module: ModuleType | None = None) -> list[FieldProvenance]:
    """Every annotated field of every dataclass in the config module, with its comment.

    A field's comment is the trailing comment on any line of its definition, else a
    comment-only line directly above it. Section fields of :class:`Config` (whose type is a
    dataclass) are not listed: their own fields are.
    """
    if module is None:
        from simcardionet_lite import config as module  # noqa: PLW0127
    source = inspect.getsource(module)
    lines = source.splitlines()
    comments = _comments(source)
    tree = ast.parse(source)
    section_of = _section_names(module)
    out: list[FieldProvenance] = []
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        cls_obj = getattr(module, node.name, None)
        if cls_obj is None or not is_dataclass(cls_obj):
            continue
        section_classes = {f.name for f in fields(cls_obj) if _is_section(module, cls_obj, f.name)}
        for stmt in node.body:
            if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
                continue
            name = stmt.target.id
            if name in section_classes:
                continue
            comment = next((comments[i] for i in range(stmt.lineno, stmt.end_lineno + 1) if i in comments), None)
            above = stmt.lineno - 1
            if comment is None and above in comments and lines[above - 1].strip().startswith("#"):
                comment = comments[above]
            out.append(
                FieldProvenance(
                    section=section_of.get(node.name, ""), cls=node.name, name=name, lineno=stmt.lineno,
                    comment=comment, tag=_tag(comment),
                )
            )
    return out


def _is_section(module: ModuleType, cls_obj: Any, name: str) -> bool:
    import typing

    hints = typing.get_type_hints(cls_obj, vars(module))
    return is_dataclass(hints.get(name))


def _section_names(module: ModuleType) -> dict[str, str]:
    """dataclass name -> section name in Config (``DataConfig`` -> ``data``)."""
    import typing

    cfg_cls = module.Config
    hints = typing.get_type_hints(cfg_cls, vars(module))
    out: dict[str, str] = {}
    for f in fields(cfg_cls):
        tp = hints[f.name]
        if is_dataclass(tp):
            out.setdefault(tp.__name__, f.name)
    return out


def provenance_table(preset_names: tuple[str, ...] | None = None) -> Any:
    """A pandas DataFrame: section, field, provenance, the value in each preset (default: every
    preset of :data:`~simcardionet_lite.config.PRESETS`), comment.

    Sections used twice in :class:`Config` (``aug_pretrain`` and ``aug_finetune`` share
    ``AugConfig``) get one row per use.
    """
    import pandas as pd

    from simcardionet_lite import config as module

    presets = {p: module.load_preset(p).to_dict() for p in (preset_names or tuple(module.PRESETS))}
    by_cls: dict[str, list[FieldProvenance]] = {}
    for fp in field_provenance(module):
        by_cls.setdefault(fp.cls, []).append(fp)
    import typing

    hints = typing.get_type_hints(module.Config, vars(module))
    rows: list[dict[str, Any]] = []
    for fp in by_cls.get("Config", []):
        rows.append(_row("", fp, presets))
    for f in fields(module.Config):
        tp = hints[f.name]
        if is_dataclass(tp):
            for fp in by_cls.get(tp.__name__, []):
                rows.append(_row(f.name, fp, presets))
    return pd.DataFrame(rows)


def _row(section: str, fp: FieldProvenance, presets: dict[str, dict[str, Any]]) -> dict[str, Any]:
    key = f"{section}.{fp.name}" if section else fp.name
    row: dict[str, Any] = {"field": key, "provenance": fp.tag or "?"}
    for p, d in presets.items():
        v = d[section][fp.name] if section else d[fp.name]
        row[p] = _short(v)
    row["comment"] = fp.comment or ""
    return row


def _short(v: Any) -> str:
    text = str(tuple(_short_t(x) for x in v)) if isinstance(v, list) else str(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _short_t(x: Any) -> Any:
    return tuple(_short_t(y) for y in x) if isinstance(x, list) else x


__all__ = ["FieldProvenance", "field_provenance", "provenance_table"]
