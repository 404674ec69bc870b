"""The ``simcardionet-lite`` command (also ``python -m simcardionet_lite``).

Subcommands:

* ``run RECIPE [--preset P] [--data-root ROOT] [--set KEY=VALUE ...] [--tag T]``: run one
  registered results recipe (``--list`` shows them) and write
  ``results/<chapter>/<source>-<tag>/metrics.json``, without a notebook;
* ``reproduce --preset P --chapter C [--chapter C2 ...] [-p KEY=VALUE ...] [--set KEY=VALUE ...]``:
  run chapters through papermill into ``results/<chapter>/<source>-<tag>/`` (executed notebook +
  metrics.json); a chapter with a recipe publishes the same JSON ``run`` would;
* ``verify RESULTS_JSON...``: re-run committed results from their recorded commit and compare
  (``simcardionet_lite.verify``);
* ``audit ...``: the dataset audit (``simcardionet_lite.data.audit``);
* ``evaluate --checkpoint CK --data-root ROOT ...``: score a saved model on a dataset
  (``simcardionet_lite.scoring``);
* ``predict ...``: classify one ECG page from a checkpoint (``simcardionet_lite.predict``).

Why lazy dispatch: ``audit`` and ``predict`` live in other modules with their own argument
parsers and heavier imports; this entry point only picks the subcommand and hands over the
remaining arguments, so ``--help`` is instant and one broken module cannot break the others.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)

USAGE = """\
usage: simcardionet-lite {run,reproduce,verify,audit,evaluate,predict} [args...]

  run        run one results recipe (no notebook) into results/<chapter>/<source>-<tag>/
  reproduce  run chapters through papermill into results/<chapter>/<source>-<tag>/
  verify     re-run committed results from their own commit (empty cache) and compare
  audit      audit a dataset folder (duplicates, manifest)
  evaluate   score a saved model on any dataset the loaders read (results JSON)
  predict    classify one ECG page with a trained checkpoint (+ Grad-CAM)

'simcardionet-lite COMMAND --help' shows the options of a command.
"""


SETTINGS_HELP = ("dotted config override KEY=VALUE, VALUE read as JSON or a Python literal, else a string "
                 "(e.g. --set pretrain.epochs=2 --set 'data.image_size=[128,176]'); repeatable")


def _reproduce_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="simcardionet-lite reproduce",
        description="Execute book chapters with papermill; write the executed notebook and metrics.json "
        "(config, seeds, data, git commit, package versions, hardware, wall time) to "
        "<results-root>/<chapter>/<source>-<tag>/. A failed run leaves an earlier result in place and "
        "records itself in <source>-<tag>.failed/.",
    )
    p.add_argument("--preset", default="smoke", help="config preset: smoke (CPU, minutes), cpu (real data on 2 cores) "
                                                     "or paper (GPU, full size)")
    p.add_argument("--chapter", action="append", required=True,
                   help="chapter stem (05_dataset1), number (05), path to a .md/.ipynb, or 'all'; repeatable")
    p.add_argument("-p", "--parameter", action="append", default=[], metavar="KEY=VALUE",
                   help="notebook parameter, same syntax as --set (e.g. -p data_root=/data/mendeley); repeatable")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=SETTINGS_HELP)
    p.add_argument("--tag", default=None, help="results folder suffix (default: the preset)")
    p.add_argument("--results-root", default=None, help="folder for results (default: <repo>/results)")
    p.add_argument("--book-dir", default=None, help="folder of the chapter sources (default: <repo>/book)")
    p.add_argument("--kernel", default=None, help="Jupyter kernel name (default: the notebook's, python3)")
    p.add_argument("--timeout", type=int, default=None, help="per-cell timeout in seconds (default: none)")
    return p


def _settings(args: argparse.Namespace) -> dict:
    """The notebook parameters of ``-p`` with ``--set`` merged into ``overrides`` (one parser, one syntax)."""
    from simcardionet_lite.config import parse_assignments

    params = parse_assignments(args.parameter, option="-p")
    for key in ("preset", "results_dir"):
        if key in params:
            raise ValueError(f"set {key} with --preset / --results-root / --tag, not -p")
    given = params.get("overrides") or {}
    if args.set and isinstance(given, dict):  # anything else is refused, with the chapter's parameters, by reproduce
        params["overrides"] = {**given, **parse_assignments(args.set)}
    return params


def reproduce_main(argv: Sequence[str]) -> int:
    """Entry point of ``reproduce``; returns the exit status."""
    from simcardionet_lite.config import PRESETS
    from simcardionet_lite.errors import DataError
    from simcardionet_lite.notebooks import reproduce

    args = _reproduce_parser().parse_args(list(argv))
    if args.preset not in PRESETS:
        log.error("unknown preset %r; choose one of %s", args.preset, sorted(PRESETS))
        return 2
    try:
        params = _settings(args)
        outs = reproduce(args.chapter, preset=args.preset, parameters=params, results_root=args.results_root,
                         book_dir=args.book_dir, kernel_name=args.kernel, timeout=args.timeout, tag=args.tag)
    except (FileNotFoundError, ValueError, KeyError, DataError) as exc:
        log.error("%s", exc)
        return 2
    except Exception as exc:  # noqa: BLE001 - papermill's execution error: report, non-zero exit
        log.error("chapter failed: %s", exc)
        return 1
    for out in outs:
        log.info("results: %s", out)
        sys.stdout.write(f"{out}\n")
    return 0


def _run_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="simcardionet-lite run",
        description="Run one registered results recipe (the same entry a chapter calls) and write "
        "<results-root>/<chapter>/<source>-<tag>/metrics.json.",
    )
    p.add_argument("recipe", nargs="?", help="recipe name (dataset1_cv) or its chapter (05_dataset1, 05)")
    p.add_argument("--list", action="store_true", help="list the registered recipes and exit")
    p.add_argument("--preset", default="smoke", help="config preset: smoke, cpu, cpu_pretrain or paper")
    p.add_argument("--data-root", default=None, help="the real dataset folder (default: the synthetic stand-in)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=SETTINGS_HELP)
    p.add_argument("--tag", default=None, help="results folder suffix (default: the preset)")
    p.add_argument("--results-root", default=None, help="folder for results (default: <repo>/results)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: torch's; on a shared 2-core machine 1 was measured faster)")
    p.add_argument("--no-publish", action="store_true", help="run and print, write nothing")
    return p


def run_main(argv: Sequence[str]) -> int:
    """Entry point of ``run``; returns the exit status."""
    from simcardionet_lite.config import parse_assignments
    from simcardionet_lite.errors import DataError
    from simcardionet_lite.experiments import all_recipes, get, results_dir_for, run_recipe

    args = _run_parser().parse_args(list(argv))
    if args.list or not args.recipe:
        for r in all_recipes().values():
            sys.stdout.write(f"{r.name:<18} {r.chapter:<22} {r.title} (real data: data.source={r.real_source})\n")
        return 0 if args.list else 2
    try:
        recipe = get(args.recipe)
        cfg = recipe.config(args.preset, data_root=args.data_root, overrides=parse_assignments(args.set))
        out_dir = None if args.no_publish else results_dir_for(recipe.chapter, cfg, tag=args.tag, root=args.results_root)
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        result = run_recipe(recipe, cfg, results_dir=out_dir)
    except (ValueError, KeyError, DataError) as exc:
        log.error("%s", exc)
        return 2
    sys.stdout.write(f"{recipe.name}: done in {result.record['extra']['wall_s']:.1f} s"
                     + (f"; results: {result.path}" if result.path else "") + "\n")
    return 0


def _audit(argv: Sequence[str]) -> int:
    from simcardionet_lite.data.audit import main

    return main(list(argv))


def _evaluate(argv: Sequence[str]) -> int:
    from simcardionet_lite.scoring import main

    return main(list(argv))


def _verify(argv: Sequence[str]) -> int:
    from simcardionet_lite.verify import main

    return main(list(argv))


def _predict(argv: Sequence[str]) -> int:
    from simcardionet_lite.predict import main

    return main(list(argv))


COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "run": run_main,
    "reproduce": reproduce_main,
    "audit": _audit,
    "evaluate": _evaluate,
    "predict": _predict,
    "verify": _verify,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch ``argv[0]`` to its subcommand with the remaining arguments."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if not argv or argv[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0 if argv else 2
    cmd, rest = argv[0], argv[1:]
    if cmd not in COMMANDS:
        sys.stderr.write(f"unknown command {cmd!r}\n\n{USAGE}")
        return 2
    result = COMMANDS[cmd](rest)
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
