"""The ``simcardionet-lite`` command (also ``python -m simcardionet_lite``).

Subcommands:

* ``reproduce --preset P --chapter C [--chapter C2 ...] [-p key value ...]``: run chapters
  through papermill into ``results/<chapter>/<preset>/`` (executed notebook + metrics.json);
* ``audit ...``: the dataset audit (``simcardionet_lite.data.audit``);
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
usage: simcardionet-lite {reproduce,audit,predict} [args...]

  reproduce  run chapters through papermill into results/<chapter>/<preset>/
  audit      audit a dataset folder (duplicates, manifest, CV splits)
  predict    classify one ECG page with a trained checkpoint (+ Grad-CAM)

'simcardionet-lite COMMAND --help' shows the options of a command.
"""


def _reproduce_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="simcardionet-lite reproduce",
        description="Execute book chapters with papermill; write the executed notebook and metrics.json "
        "(config, seeds, git commit, package versions, hardware, wall time) to "
        "<results-root>/<chapter>/<preset>/.",
    )
    p.add_argument("--preset", default="smoke", help="config preset: smoke (CPU, minutes) or paper (GPU, full size)")
    p.add_argument("--chapter", action="append", required=True,
                   help="chapter stem (05_dataset1), number (05), path to a .md/.ipynb, or 'all'; repeatable")
    p.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"),
                   help="notebook parameter; VALUE is parsed as JSON or a Python literal, else kept as a string "
                   "(e.g. -p data_root /data/mendeley -p overrides '{\"pretrain.epochs\": 2}')")
    p.add_argument("--results-root", default=None, help="folder for results (default: <repo>/results)")
    p.add_argument("--book-dir", default=None, help="folder of the chapter sources (default: <repo>/book)")
    p.add_argument("--kernel", default=None, help="Jupyter kernel name (default: the notebook's, python3)")
    p.add_argument("--timeout", type=int, default=None, help="per-cell timeout in seconds (default: none)")
    return p


def reproduce_main(argv: Sequence[str]) -> int:
    """Entry point of ``reproduce``; returns the exit status."""
    from simcardionet_lite.config import PRESETS
    from simcardionet_lite.notebooks import parse_value, reproduce

    args = _reproduce_parser().parse_args(list(argv))
    if args.preset not in PRESETS:
        log.error("unknown preset %r; choose one of %s", args.preset, sorted(PRESETS))
        return 2
    params = {}
    for key, value in args.parameter:
        if key in ("preset", "results_dir"):
            log.error("set %s with --preset / --results-root, not -p", key)
            return 2
        params[key] = parse_value(value)
    try:
        outs = reproduce(args.chapter, preset=args.preset, parameters=params, results_root=args.results_root,
                         book_dir=args.book_dir, kernel_name=args.kernel, timeout=args.timeout)
    except FileNotFoundError as exc:
        log.error("%s", exc)
        return 2
    except Exception as exc:  # noqa: BLE001 - papermill's execution error: report, non-zero exit
        log.error("chapter failed: %s", exc)
        return 1
    for out in outs:
        log.info("results: %s", out)
        sys.stdout.write(f"{out}\n")
    return 0


def _audit(argv: Sequence[str]) -> int:
    from simcardionet_lite.data.audit import main

    return main(list(argv))


def _predict(argv: Sequence[str]) -> int:
    from simcardionet_lite.predict import main

    return main(list(argv))


COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "reproduce": reproduce_main,
    "audit": _audit,
    "predict": _predict,
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
