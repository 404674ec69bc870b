"""The recipe registry: every results experiment is registered once and run the same way everywhere.

Why: a chapter, ``simcardionet-lite run`` and ``simcardionet-lite reproduce`` must produce the
same number from the same config, so none of them may hold its own copy of "load the data, run
the protocol, write the JSON". A :class:`Recipe` names its chapter, the real data source a
``data_root`` stands for, the config sections it reads and its function; :func:`run_recipe`
runs it over ``eval.seeds`` and publishes one results JSON that records the config, the seeds,
the datasets it read (source, root, content fingerprint, counts) and the cache hits.

Results land in ``results/<chapter>/<source>-<tag>/`` (tag: the preset unless given), so a run on
real data and one on synthetic pages, or a smoke and a paper run, never overwrite each other.

Recipe modules live in :mod:`simcardionet_lite.experiments.recipes`; each registers itself with
:func:`register` when imported, and :func:`all_recipes` imports them all, so adding a results chapter
needs no edit here.
"""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simcardionet_lite.config import Config, load_preset
from simcardionet_lite.errors import DataError

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What a recipe function returns: JSON metrics, the datasets it read (by role), and artifacts.

    ``artifacts`` (models, arrays, datasets for the chapter's figures) are never written to JSON.
    ``models`` (name -> ``(model, config, classes)``) are the trained models the metrics report;
    :func:`run_recipe` saves them as checkpoints in ``<results_dir>/models/`` (git-ignored), so
    ``simcardionet-lite evaluate`` can score them on data this project never saw.
    """

    metrics: dict[str, Any]
    datasets: dict[str, Any]
    artifacts: dict[str, Any] = field(default_factory=dict)
    models: dict[str, tuple[Any, Config, tuple[str, ...]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Recipe:
    """One registered results experiment."""

    name: str  # e.g. "dataset1_cv"
    chapter: str  # the book chapter that shows it, e.g. "05_dataset1"
    title: str  # the data it is about, as the banner names it
    real_source: str  # the data.source a chapter's ``data_root`` means (a key of data.factory.SOURCES)
    reads: tuple[str, ...]  # config sections the recipe reads (their hash is recorded)
    run: Callable[[Config], Outcome]

    def config(self, preset: str = "smoke", *, data_root: str | os.PathLike | None = None,
               overrides: Mapping[str, Any] | None = None) -> Config:
        """The config of one run: the preset, the data source a ``data_root`` stands for (or this
        recipe's synthetic stand-in), then ``overrides`` (which win)."""
        from simcardionet_lite.data.factory import STANDIN_DEFAULTS

        if data_root is not None:
            base: dict[str, Any] = {"data.source": self.real_source, "data.root": _folder(data_root, "data_root", self.chapter)}
        else:
            base = {"data.source": "synthetic", **{f"data.{k}": v for k, v in STANDIN_DEFAULTS[self.real_source].items()}}
        cfg = load_preset(preset, **{**base, **dict(overrides or {})})
        if cfg.data.train_root is not None:
            cfg.data.train_root = _folder(cfg.data.train_root, "data.train_root", self.chapter)
        return cfg


def _folder(path: str | os.PathLike, what: str, chapter: str) -> str:
    """An existing folder as an absolute path (relative paths are the caller's, not the kernel's)."""
    root = Path(path).expanduser()
    if not root.exists():
        raise DataError(f"{what} for {chapter} does not exist", path=root,
                        fix=f"set {what} to the dataset folder, or to None for the synthetic stand-in")
    return str(root.resolve())


@dataclass
class Result:
    """A finished run: what was published (``record``), its artifacts and where it was written."""

    recipe: Recipe
    config: Config
    record: dict[str, Any]
    artifacts: dict[str, Any]
    path: Path | None

    @property
    def metrics(self) -> dict[str, Any]:
        return self.record["metrics"]


RECIPES: dict[str, Recipe] = {}


def register(name: str, *, chapter: str, title: str, real_source: str, reads: tuple[str, ...]) -> Callable:
    """Decorator: register ``fn(cfg) -> Outcome`` as the recipe ``name`` (once)."""
    def deco(fn: Callable[[Config], Outcome]) -> Callable[[Config], Outcome]:
        if name in RECIPES and RECIPES[name].run is not fn:
            raise ValueError(f"recipe {name!r} is registered twice")
        RECIPES[name] = Recipe(name, chapter, title, real_source, tuple(reads), fn)
        return fn
    return deco


def all_recipes() -> dict[str, Recipe]:
    """Every registered recipe (imports all modules of :mod:`simcardionet_lite.experiments.recipes`)."""
    from simcardionet_lite.experiments import recipes as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"{pkg.__name__}.{mod.name}")
    return RECIPES


def get(name_or_chapter: str) -> Recipe:
    """A recipe by its name, its chapter (``05_dataset1``) or the chapter's number (``05``)."""
    table = all_recipes()
    if name_or_chapter in table:
        return table[name_or_chapter]
    for r in table.values():
        if name_or_chapter in (r.chapter, r.chapter.split("_", 1)[0]):
            return r
    raise KeyError(f"unknown recipe {name_or_chapter!r}; known: "
                   + ", ".join(f"{r.name} ({r.chapter})" for r in table.values()))


def for_chapter(chapter: str) -> Recipe | None:
    """The recipe a chapter shows, or None for a chapter without one."""
    return next((r for r in all_recipes().values() if r.chapter == chapter), None)


def results_tag(cfg: Config, tag: str | None = None) -> str:
    """``<data.source>-<tag or preset>``: the folder name of a run's results."""
    return f"{cfg.data.source}-{tag or cfg.preset}"


def results_dir_for(chapter: str, cfg: Config, *, tag: str | None = None, root: str | os.PathLike | None = None) -> Path:
    """``<root>/<chapter>/<source>-<tag>`` with ``root`` defaulting to the repository's ``results/``."""
    from simcardionet_lite.results import repo_root

    base = Path(root) if root is not None else repo_root() / "results"
    return base / chapter / results_tag(cfg, tag)


def save_models(models: dict[str, tuple[Any, Config, tuple[str, ...]]], folder: Path) -> dict[str, str]:
    """Save each ``name -> (model, config, classes)`` as ``folder/<name>.pt`` (the one checkpoint format).

    Returns name -> SHA-256 of the file: the results JSON records which weights it reports.
    """
    from simcardionet_lite.checkpoint import save_checkpoint
    from simcardionet_lite.data.images import file_sha256
    from simcardionet_lite.errors import check_writable

    check_writable(folder, "the models folder", folder=True)
    out: dict[str, str] = {}
    for name, (model, mcfg, classes) in models.items():
        path = folder / f"{name}.pt"
        save_checkpoint(path, model, mcfg, tuple(classes), extra={"what": f"model {name} of a results recipe"})
        out[name] = file_sha256(path)
    return out


def run_recipe(recipe: str | Recipe, cfg: Config, *, results_dir: str | os.PathLike | None = None) -> Result:
    """Run a recipe with ``cfg`` and publish its results JSON into ``results_dir`` (when given)."""
    from simcardionet_lite.data.factory import dataset_record
    from simcardionet_lite.results import publish, to_jsonable

    r = get(recipe) if isinstance(recipe, str) else recipe
    t0 = time.perf_counter()
    out = r.run(cfg)
    data = {role: dataset_record(ds) for role, ds in out.datasets.items()}
    extra = {"recipe": {"name": r.name, "chapter": r.chapter, "reads": list(r.reads), "reads_hash": cfg.hash(*r.reads)},
             "wall_s": time.perf_counter() - t0}
    if results_dir is not None and out.models:
        extra["models"] = save_models(out.models, Path(results_dir) / "models")
    path = publish(out.metrics, cfg=cfg, results_dir=results_dir, seeds=list(cfg.eval.seeds), data=data, extra=extra)
    record = {"metrics": to_jsonable(out.metrics), "config": cfg.to_dict(), "seeds": list(cfg.eval.seeds),
              "data": data, "extra": to_jsonable(extra), "preset": cfg.preset}
    return Result(r, cfg, record, out.artifacts, path)


__all__ = ["Outcome", "Recipe", "Result", "RECIPES", "register", "all_recipes", "get", "for_chapter", "results_tag",
           "results_dir_for", "run_recipe", "save_models"]
