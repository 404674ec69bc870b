"""Pack the real data for a GPU machine within 64 MiB, and unpack it there byte for byte.

Why this form: a device run carries at most 64 MiB beside the tracked tree, and the two folders
the real-data chapters read (``dataset1_mendeley``, 73 MiB; ``ptbxl_sample``, 23 MiB) are larger
together. Dataset I, though, holds 928 files of which only 491 are distinct (byte-identical
copies): the tar written here holds each distinct file once and every copy as a hard link, and
the PTB-XL records gzip-compressed, about 48 MiB in all. Unpacked, the folders are the same bytes
as here, so every loader runs unchanged, the datasets' content fingerprints (and hence the page
and encoder cache keys and the results' data records) are the ones of the committed ``cpu`` runs,
and ``verify --root-map`` can point a result at either copy. A uint8 page cache would save the
decoding (about a minute of CPU) but not the size: Dataset I alone at 192 x 384 is 197 MiB of
pixels (``--measure-pages`` prints it, and its compressed size), and the loaders would need a
new source to read it.

    python scripts/prepare_device_data.py pack [--realdata ../shared/realdata] [--out data/external/device]
    python scripts/prepare_device_data.py unpack --out data/external/device --to /tmp/realdata   # on the device
    python scripts/prepare_device_data.py pack --measure-pages                                   # and the page sizes
    python scripts/prepare_device_data.py tree           # after committing: the commit and its files' blob hashes
    python scripts/prepare_device_data.py check-tree --to /tmp/git.json                          # on the device

The device's copy of the tree has no ``.git``: ``tree`` records the commit and every tracked file's
git blob hash beside the pack, ``check-tree`` compares the copy with them there and writes the
record that ``SIMCARDIONET_TREE_CHECK`` passes to the results' metadata (commit, and which files
differ), so a GPU result names its commit as a local one does (``scripts/gpu_run.sh`` does both).

``data/external/`` is git-ignored: carry ``data/external/device`` to the device (the ``run`` tool's
``carry``), never commit it. ``pack`` refuses to write more than ``--max-mib`` (64).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import tarfile
import time
from pathlib import Path

FOLDERS = ("dataset1_mendeley", "ptbxl_sample")
TAR_NAME, MANIFEST_NAME = "realdata.tar.gz", "realdata_manifest.json"


def _sha256(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def pack(realdata: Path, out: Path, max_mib: float) -> dict:
    """Write ``out/realdata.tar.gz`` (distinct files once, copies as hard links) and its manifest."""
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    first: dict[str, str] = {}
    tmp = out / (TAR_NAME + ".tmp")
    with tarfile.open(tmp, "w:gz", compresslevel=6) as tar:
        for folder in FOLDERS:
            root = realdata / folder
            if not root.is_dir():
                raise SystemExit(f"{root} not found: pass --realdata (the folder holding {', '.join(FOLDERS)})")
            for p in sorted(q for q in root.rglob("*") if q.is_file()):
                rel = p.relative_to(realdata).as_posix()
                sha = _sha256(p)
                files[rel] = sha
                if sha in first:  # a copy: a hard link to the first file with these bytes
                    info = tarfile.TarInfo(rel)
                    info.type, info.linkname, info.mtime = tarfile.LNKTYPE, first[sha], 0
                    tar.addfile(info)
                    continue
                first[sha] = rel
                info = tar.gettarinfo(str(p), arcname=rel)
                info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                with open(p, "rb") as fh:
                    tar.addfile(info, fh)
    size = tmp.stat().st_size
    if size > max_mib * 2**20:
        tmp.unlink()
        raise SystemExit(f"the pack is {size / 2**20:.1f} MiB, over --max-mib {max_mib}")
    tmp.replace(out / TAR_NAME)
    manifest = {"folders": list(FOLDERS), "files": files, "distinct": len(first), "bytes": size,
                "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    (out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=0, sort_keys=True))
    return manifest


def unpack(out: Path, to: Path) -> dict:
    """Extract the pack under ``to`` and check every file's SHA-256 against the manifest."""
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    to.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out / TAR_NAME, "r:gz") as tar:
        tar.extractall(to, filter="data")
    bad = [rel for rel, sha in manifest["files"].items() if not (to / rel).is_file() or _sha256(to / rel) != sha]
    if bad:
        raise SystemExit(f"{len(bad)} files differ from the manifest after unpacking, e.g. {bad[:3]}")
    return manifest


def _git(*args: str) -> str:
    import subprocess

    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout


def tree(out: Path) -> dict:
    """Record the commit and every tracked file's blob hash (``out/tree.json``), for :func:`check_tree` there."""
    files = {}
    for line in _git("ls-files", "-s").splitlines():
        meta, path = line.split("\t", 1)
        files[path] = meta.split()[1]
    dirty = [f for f in _git("diff", "--name-only", "HEAD").splitlines() if f.strip()]
    rec = {"commit": _git("rev-parse", "HEAD").strip(), "branch": _git("rev-parse", "--abbrev-ref", "HEAD").strip(),
           "files": files, "dirty_here": dirty}
    out.mkdir(parents=True, exist_ok=True)
    (out / "tree.json").write_text(json.dumps(rec, indent=0, sort_keys=True))
    return rec


def check_tree(out: Path, record: Path) -> dict:
    """Compare this tree's files with ``out/tree.json`` (git blob hashes) and write the git record that
    ``$SIMCARDIONET_TREE_CHECK`` hands to the results' metadata (:func:`simcardionet_lite.results.git_info`)."""
    rec = json.loads((out / "tree.json").read_text())
    dirty = []
    for path, blob in rec["files"].items():
        p = Path(path)
        if p.is_symlink():
            data = str(p.readlink()).encode()
        elif p.is_file():
            data = p.read_bytes()
        else:
            dirty.append(path)
            continue
        if hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest() != blob:
            dirty.append(path)
    res = {"commit": rec["commit"], "branch": rec["branch"], "dirty_files": sorted(dirty)}
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(res, indent=1))
    return res


def measure_pages(realdata: Path) -> dict:
    """Dataset I prepared as the gpu preset prepares it: raw and compressed size of the uint8 pages."""
    import zlib
    from dataclasses import replace

    import numpy as np

    from simcardionet_lite.config import load_preset
    from simcardionet_lite.data.factory import build_dataset

    cfg = load_preset("gpu")
    ds = build_dataset(replace(cfg.data, source="dataset1", root=str(realdata / "dataset1_mendeley")), seed=0)
    u8 = np.ascontiguousarray(ds.images_uint8())
    _, first = np.unique(np.asarray(ds.groups), return_index=True)
    buf = io.BytesIO()
    np.save(buf, u8[np.sort(first)])
    return {"pages": int(len(u8)), "shape": list(u8.shape), "raw_mib": u8.nbytes / 2**20,
            "distinct_raw_mib": u8[first].nbytes / 2**20,
            "distinct_zlib6_mib": len(zlib.compress(buf.getvalue(), 6)) / 2**20}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=("pack", "unpack", "tree", "check-tree"))
    ap.add_argument("--realdata", default=str(Path(__file__).resolve().parents[2] / "shared" / "realdata"))
    ap.add_argument("--out", default="data/external/device", help="folder of the pack (git-ignored; carry it)")
    ap.add_argument("--to", default=None, help="unpack: the folder to hold dataset1_mendeley/ and ptbxl_sample/; "
                    "check-tree: the git record to write")
    ap.add_argument("--max-mib", type=float, default=64.0)
    ap.add_argument("--measure-pages", action="store_true", help="pack: also report the uint8 page sizes")
    a = ap.parse_args(argv)
    out = Path(a.out)
    if a.action == "pack":
        m = pack(Path(a.realdata), out, a.max_mib)
        print(f"{out / TAR_NAME}: {m['bytes'] / 2**20:.1f} MiB, {len(m['files'])} files ({m['distinct']} distinct)")
        if a.measure_pages:
            print("Dataset I as uint8 pages (gpu preset):", json.dumps(measure_pages(Path(a.realdata))))
    elif a.action == "tree":
        rec = tree(out)
        print(f"{out / 'tree.json'}: commit {rec['commit'][:12]}, {len(rec['files'])} tracked files"
              + (f"; WARNING: changed here, not committed: {rec['dirty_here']}" if rec["dirty_here"] else ""))
    elif not a.to:
        ap.error(f"{a.action} needs --to")
    elif a.action == "unpack":
        m = unpack(out, Path(a.to))
        print(f"unpacked {len(m['files'])} files under {a.to}, every SHA-256 as packed")
    else:
        res = check_tree(out, Path(a.to))
        print(f"tree of commit {res['commit'][:12]}: " + (f"{len(res['dirty_files'])} files differ: {res['dirty_files'][:5]}"
                                                         if res["dirty_files"] else "every tracked file as committed"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
