"""A new run branched from another run's checkpoint kept at N env steps, with some settings changed.

The new directory gets the kept checkpoint as its ``checkpoint.pt``, the source's ``metrics.jsonl`` up to
that checkpoint, the decoders its refits had written by then (``decoders/stage<k>.pt``), and the source's
``config.json`` with the changes applied (to the ``train`` section and to the resolved plan that resume
pins). ``gorl train --resume DST``, or ``gorl bench`` with DST inside the suite's results, continues it: up
to N it is the source run, to the last digit; after N it runs the new settings. A suite arm that changes
only what happens after N (e.g. the second refit's fit) can so start where it first differs, instead of
training again what it shares.

    python benchmarks/branch_run.py RUN --kept 200021 --to DST \\
        --set schedule.reinit_decoder=false --set schedule.fit.steps=16000

The changed config is validated (``gorl.train_config.resolve``) before anything is written; DST must not
exist, and is written whole or not at all (built beside it, then renamed).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from gorl.checkpoint import CheckpointError
from gorl.cli import parse_sets
from gorl.run_dir import read_config
from gorl.stage0 import kept_path, read_kept
from gorl.train_config import merge, resolve

_PINNED = ("optimizer", "schedule", "encoder")  # the plan's sections that resume reads over ``train``
# what the kept state itself is made of: a branch that changed these would not be the source up to N
_FIXED = ("task", "seed", "method", "backend", "encoder", "env_options", "episode_length")


def branched_config(saved: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``config.json``'s content with ``changes`` (nested, as ``--set`` gives them) applied to its
    ``train`` section and to the resolved sections resume pins."""
    out = {**saved, "train": merge(saved["train"], changes)}
    for section in _PINNED:
        if section in changes and section in saved:
            out[section] = merge(saved[section], changes[section])
    return out


def branch(source: Path, kept: int, dest: Path, changes: dict[str, Any]) -> Path:
    """Writes the branched run directory ``dest`` (see the module's docstring) and returns it.

    Raises:
        FileExistsError: ``dest`` exists.
        CheckpointError: ``source`` is no run directory, kept no checkpoint at ``kept``, or its metrics
            are shorter than that checkpoint says.
        ValueError / ValidationError: a change to what the kept state is made of (task, seed, method,
            env, encoder), or a changed config that does not validate (names the field).
    """
    fixed = sorted(k for k in changes if k in _FIXED)
    if fixed:
        raise ValueError(f"a branch keeps the source's {', '.join(fixed)}: the kept state was made with them")
    if dest.exists():
        raise FileExistsError(f"{dest} exists; a branch is written into a new directory")
    if not (source / "config.json").is_file():
        raise CheckpointError(f"{source} is not a run directory (no config.json)")
    ckpt_path = kept_path(source, kept)
    if not ckpt_path.is_file():
        raise CheckpointError(f"{source} kept no checkpoint at {kept} env steps ({ckpt_path} is missing)")
    saved = json.loads((source / "config.json").read_text())
    ckpt, metrics = read_kept(source, kept)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{dest.name}.") as tmp:
        build = Path(tmp) / "run"
        build.mkdir()
        (build / "config.json").write_text(json.dumps(branched_config(saved, changes), indent=2))
        resolve(read_config(build), check_files=False)  # the changed settings validate, or nothing is written
        (build / "metrics.jsonl").write_bytes(metrics)
        shutil.copyfile(ckpt_path, build / "checkpoint.pt")
        for stage in range(1, ckpt["schedule_state"]["stage"] + 1):  # the decoders fitted up to there
            name = f"decoders/stage{stage}.pt"
            (build / "decoders").mkdir(exist_ok=True)
            shutil.copyfile(source / name, build / name)
        build.rename(dest)
    return dest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path, help="the run directory to branch from")
    ap.add_argument("--kept", type=int, required=True, help="env steps of a checkpoint the source kept")
    ap.add_argument("--to", type=Path, required=True, dest="dest", help="the new run directory")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a changed setting")
    args = ap.parse_args(argv)
    dest = branch(args.source, args.kept, args.dest, parse_sets(args.set))
    print(f"{dest}: {args.source} at {args.kept} env steps, with {' '.join(args.set) or 'no change'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
