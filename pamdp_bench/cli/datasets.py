"""``pamdp-bench datasets list | info ID | build | verify``: the offline PAMDP datasets."""

from __future__ import annotations

import argparse
import json

from pamdp_bench.cli.common import Command, add_bool, add_env, comma_list

ACTIONS = ("list", "info", "build", "verify")


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=ACTIONS, help="what to do")
    p.add_argument("ids", nargs="*", metavar="ID",
                   help="dataset ids (pamdp/<env>/<kind>[-small]-v0); default: the --env x "
                   "--kind x --size selection")
    add_env(p, "envs (default: all eight)")
    p.add_argument("--kind", type=comma_list, metavar="KIND[,KIND...]",
                   help="random, expert, medium, medium-replay (default: all)")
    p.add_argument("--size", choices=("full", "small", "both"), default="full",
                   help="full (1M transitions), small (10k) or both (default: %(default)s)")
    p.add_argument("--root", metavar="DIR",
                   help="datasets directory (default: MINARI_DATASETS_PATH or "
                   "~/.minari/datasets, where minari.load_dataset looks)")
    p.add_argument("--manifest", metavar="FILE",
                   help="manifest (default: results/datasets/manifest.json of the checkout)")
    add_bool(p, "overwrite", "build: replace datasets that exist under --root")
    p.add_argument("--source_store", metavar="DIR",
                   help="build: where the generating training runs checkpoint every evaluation "
                   "point, so a killed build resumes its run (default: "
                   "$XDG_CACHE_HOME/pamdp_bench/dataset_sources or ~/.cache/...; 'none': keep "
                   "nothing)")
    add_bool(p, "rewrite_sources", "build: record this platform's generating runs in "
             "results/datasets/sources/ instead of checking them against the committed records "
             "(another platform trains differently)")
    p.add_argument("--out", metavar="FILE",
                   help="list: write the manifest's datasets and anchors as a markdown document "
                   "(results/datasets/README.md) instead of printing the table")
    add_bool(p, "progress", "progress bars while generating (default: on)", default=True,
             negation_shown=True)


def _selection(a: argparse.Namespace) -> list:
    from pamdp_bench.datasets.build import resolve_ids

    small = {"full": False, "small": True, "both": None}[a.size]
    return resolve_ids(a.env, a.kind, small, a.ids)


def cmd_datasets(a: argparse.Namespace) -> int:
    import os

    from pamdp_bench.datasets import build, minari_io

    root = a.root or minari_io.default_root()
    manifest_path = a.manifest or build.DEFAULT_MANIFEST
    manifest = build.load_manifest(manifest_path)
    if a.action == "info":
        if len(a.ids) != 1:
            raise ValueError("datasets info takes one dataset id")
        ref = _selection(a)[0]
        entry = manifest["datasets"].get(ref.id)
        if entry is None:
            raise ValueError(f"{ref.id} is not in {manifest_path} (build it first)")
        local = os.path.isdir(minari_io.dataset_dir(root, ref.id))
        print(json.dumps({"id": ref.id, "local_copy": local, **entry}, indent=1,
                         sort_keys=True))
        return 0
    refs = _selection(a)
    if a.action == "list":
        if a.out:
            with open(a.out, "w") as f:
                f.write(build.readme_markdown(manifest))
            print(f"wrote {a.out}")
            return 0
        print(build.table_markdown(manifest, refs, root))
        return 0
    if a.action == "build":
        from pamdp_bench.datasets import source_store

        store = a.source_store or source_store.default_root()
        builder = build.Builder(root, manifest_path, overwrite=a.overwrite,
                                progress=a.progress,
                                source_store=None if store == "none" else store,
                                rewrite_sources=a.rewrite_sources)
        built = builder.build(refs)
        print(f"built {len(built)} dataset(s) under {root}; manifest {manifest_path}")
        return 0
    checked = [r.id for r in refs if r.id in manifest["datasets"] or a.ids]
    problems = build.verify(root, checked, manifest)
    for p in problems:
        print(f"FAILED: {p}")
    print(f"verified {len(checked) - len({p.split(':')[0] for p in problems})}/{len(checked)} "
          f"dataset(s) under {root} against {manifest_path}")
    return 1 if problems else 0


COMMANDS = (
    Command("datasets", "offline PAMDP datasets (Minari): list | info ID | build | verify",
            _arguments, cmd_datasets,
            "list|info|build|verify [ID ...] [--env=ID,...] [--kind=K,...] "
            "[--size=full|small|both] [--root=DIR]"),
)
