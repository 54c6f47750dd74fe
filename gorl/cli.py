"""``gorl`` command line: ``gorl train`` (with ``--resume``), ``gorl list``, ``gorl bench SUITE``,
``gorl report DIR`` and ``gorl plot actions RUN ...``.

``gorl train`` with no arguments is the README's main job: a short GoRL(FM) run on cheetah-run on the
CPU that prints where its results are.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from gorl.algos.guards import NonFiniteError
from gorl.checkpoint import CheckpointError
from gorl.loggers import MissingLoggerPackage
from gorl.registry import RegistryError
from gorl.stop import RunStopped
from gorl.train_config import TrainConfig, flatten, merge, provenance, resolve

# The main job: about 3 minutes on 2 CPU cores (README states what it reaches and how long it took). Its
# evaluations take 16 episodes: 4 left the final return's standard error near 60 on cheetah-run.
QUICK = {"total_steps": 200_704, "eval_every": 50_176, "eval_envs": 16, "method": "gorl-fm"}


def parse_sets(items: list[str]) -> dict[str, Any]:
    """``["ppo.lr=3e-4", "seed=1"]`` -> ``{"ppo": {"lr": 0.0003}, "seed": 1}`` (values parsed as YAML)."""
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--set takes key=value, got {item!r}")
        key, raw = item.split("=", 1)
        parts = [p for p in key.strip().split(".") if p]
        if not parts:
            raise ValueError(f"--set has an empty key in {item!r}")
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ValueError(f"--set {key}: {p} is both a value and a section")
        node[parts[-1]] = _scalar(raw)
    return out


def _scalar(raw: str) -> Any:
    """A number if ``raw`` reads as one (YAML 1.1 takes "3e-4" for a string), else YAML."""
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return yaml.safe_load(raw)


def load_file(path: str) -> dict[str, Any]:
    """A YAML or JSON config file as a dict."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"config file {p} does not exist")
    data = yaml.safe_load(p.read_text()) if p.suffix in (".yaml", ".yml") else json.loads(p.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"config file {p} must hold a mapping, got {type(data).__name__}")
    return data


FLAGS = ("task", "method", "total_steps", "seed", "backend", "device", "scale")


def config_layers(args: argparse.Namespace) -> list[tuple[str, dict[str, Any]]]:
    """The layers of a new run's config, lowest first, each with its name: ``gorl train``'s defaults
    (``QUICK``), the ``--config`` file, each flag (``--seed``, ...), ``--set``, ``--no-progress``."""
    layers: list[tuple[str, dict[str, Any]]] = [("gorl train default", dict(QUICK))]
    if args.config:
        layers.append((f"config file {args.config}", load_file(args.config)))
    layers += [
        (f"--{f.replace('_', '-')}", {f: getattr(args, f)}) for f in FLAGS if getattr(args, f) is not None
    ]
    layers.append(("--set", parse_sets(args.set or [])))
    if args.no_progress:
        layers.append(("--no-progress", {"progress": False}))
    return layers


def build_config(args: argparse.Namespace) -> TrainConfig:
    """Quick defaults < config file < flags < --set."""
    data: dict[str, Any] = {}
    for _, layer in config_layers(args):
        data = merge(data, layer)
    return TrainConfig(**data)


def dry_run(args: argparse.Namespace) -> str:
    """The resolved plan of the run ``args`` describe, every effective setting with its source; builds
    nothing (no env, no network): what ``gorl train --dry-run`` prints."""
    layers = config_layers(args)
    cfg = build_config(args)
    given: dict[str, str] = {}
    for label, layer in layers:
        given |= dict.fromkeys(flatten(layer), label)
    rows = provenance(cfg, given)
    plan = resolve(cfg)
    schedule = plan.schedule
    decoders = schedule.initial_decoder + "".join(
        f" -> {schedule.decoder}" for _ in schedule.stage_fractions[1:] if schedule.decoder is not None
    )
    start, stages = 0, []
    for k, end in enumerate(schedule.stage_ends(cfg.total_steps)):
        stages.append(f"{k}: {start:,}-{end:,}")
        start = end
    lines = [
        f"dry run, nothing built: {cfg.method} on {cfg.task}: {cfg.total_steps:,} env steps, seed "
        f"{cfg.seed}, {cfg.resolved_scale} scale, {cfg.backend} on {cfg.device}",
        f"optimizer {plan.optimizer_name}, encoder {plan.encoder_name}, decoders {decoders}",
        f"stages (env steps): {', '.join(stages)}",
        "",
    ]
    width = max(len(r.path) for r in rows)
    vwidth = min(40, max(len(json.dumps(r.value)) for r in rows))
    lines += [f"{r.path:<{width}}  {json.dumps(r.value):<{vwidth}}  {r.source}" for r in rows]
    return "\n".join(lines)


def _train(args: argparse.Namespace) -> int:
    from gorl.train import Trainer

    if args.resume:
        given = [
            f
            for f in ("task", "method", "total_steps", "seed", "backend", "device", "scale", "config", "out")
            if getattr(args, f)
        ]
        if args.dry_run:
            raise ValueError(
                f"--dry-run shows the plan of a new run; the plan of the run in {args.resume} is its "
                "config.json (the 'train' section and the resolved parts beside it)"
            )
        if given or args.set:
            flags = ", ".join([f"--{f.replace('_', '-')}" for f in given] + (["--set"] if args.set else []))
            raise ValueError(
                f"--resume continues a run with its own config; {flags} cannot change it "
                "(start a new run instead)"
            )
        trainer = Trainer.resume(args.resume, **({"progress": False} if args.no_progress else {}))
        out = Path(args.resume)
        print(f"resuming {out} at {trainer.env_steps} env steps", flush=True)
    elif args.dry_run:
        print(dry_run(args))
        return 0
    else:
        cfg = build_config(args)
        out = Path(args.out or f"runs/{cfg.method}-{cfg.task}-s{cfg.seed}-{time.strftime('%Y%m%d-%H%M%S')}")
        if (out / "checkpoint.pt").exists():
            raise FileExistsError(f"{out} already holds a run; resume it with: gorl train --resume {out}")
        trainer = Trainer(cfg, out)
        print(f"training {cfg.method} on {cfg.task} for {cfg.total_steps} env steps -> {out}", flush=True)
    try:
        summary = trainer.run()
    except RunStopped as e:
        print(f"gorl: {e}", file=sys.stderr)
        return 128 + e.signum  # the shell's code for a process ended by that signal
    print(json.dumps(summary, indent=2))
    print(f"results: {out}/metrics.jsonl, {out}/summary.json; checkpoint: {out}/checkpoint.pt")
    return 0


def _list(_: argparse.Namespace) -> int:
    import gorl.algos as algos
    import gorl.decoders as decoders
    import gorl.encoders as encoders
    import gorl.envs as envs
    from gorl import methods
    from gorl.envs import PAPER_TASKS

    print("methods:   ", ", ".join(methods.names()))
    print("optimizers:", ", ".join(algos.names()))
    print("decoders:  ", ", ".join(decoders.names()))
    print("encoders:  ", ", ".join(encoders.names()))
    print("paper tasks:", ", ".join(PAPER_TASKS), "(any dm_control suite domain-task works)")
    print("env backends (a task is backend:task; dmc needs no prefix):")
    for name in envs.names():
        print(f"  {name:8s} {envs.get(name).summary}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from gorl.bench import bench, load_suite

    suite = load_suite(args.suite)
    out = args.out or suite.out
    if out is None:
        raise ValueError(f"{args.suite} names no results directory (out:); give one with --out DIR")
    result = bench(
        suite,
        out,
        engine=args.engine,
        parallel=args.parallel,
        threads=args.threads,
        address=args.address,
        keep_checkpoints=not args.no_checkpoints,
        only=args.only,
    )
    if result.stopped:  # stopped on signals of their own, each with a checkpoint: not failures
        print(
            f"gorl: {len(result.stopped)} run(s) stopped with a checkpoint; run the same command again to "
            "resume them",
            file=sys.stderr,
        )
    return 1 if result.failed or result.stopped else 0


def _report(args: argparse.Namespace) -> int:
    from gorl.report import REFERENCE, write_report

    if not Path(args.dir, "runs").is_dir():
        raise FileNotFoundError(f"{args.dir} holds no runs/ directory: is it the --out of a gorl bench?")
    print(f"report: {write_report(Path(args.dir), reference=REFERENCE)}")
    return 0


def _plot(args: argparse.Namespace) -> int:
    from gorl.plot_actions import main_plot_actions

    return main_plot_actions(args.rest)


def parser() -> argparse.ArgumentParser:
    """The argument parser."""
    ap = argparse.ArgumentParser(prog="gorl", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command")
    tr = sub.add_parser("train", help="train (default: a short GoRL(FM) run on cheetah-run, CPU)")
    tr.add_argument(
        "--task",
        help="[backend:]task: a dm_control domain-task (cheetah-run), gym:Hopper-v5, torchrl:pkg.module:fn",
    )
    tr.add_argument(
        "--method",
        help="ppo, gorl-fm, gorl-diff, sac, gorl-sac-fm, gorl-sac-diff, fpo, dppo, gorl-<decoder>, "
        "gorl-sac-<decoder> (gorl list shows all)",
    )
    tr.add_argument("--total-steps", dest="total_steps", type=int, help="env-step budget")
    tr.add_argument("--seed", type=int)
    tr.add_argument(
        "--backend",
        help="env backend (gorl list shows them): dmc (default), warp, gym, torchrl; options with --set "
        "env_options.KEY=VALUE",
    )
    tr.add_argument("--device", help="cpu (default) or cuda[:N]")
    tr.add_argument("--scale", choices=["auto", "cpu", "paper"], help="the method's settings (default auto)")
    tr.add_argument("--out", help="run directory (default runs/<method>-<task>-s<seed>-<time>)")
    tr.add_argument("--config", help="YAML or JSON file of TrainConfig fields")
    tr.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override, e.g. optimizer.lr=3e-4 or schedule.fit.steps=1000 (repeatable)",
    )
    tr.add_argument("--resume", metavar="DIR", help="continue the run in DIR from its checkpoint")
    tr.add_argument("--no-progress", action="store_true", help="no progress bar")
    tr.add_argument(
        "--dry-run",
        dest="dry_run",
        action="store_true",
        help="print the resolved plan, every setting with where it came from (default, preset, method, "
        "stage override, config file, a flag, --set), and exit without building an env",
    )
    tr.set_defaults(func=_train)
    ls = sub.add_parser("list", help="list methods, decoders, encoders, tasks and env backends")
    ls.set_defaults(func=_list)
    be = sub.add_parser(
        "bench",
        help="run a benchmark suite (tasks x methods x seeds), resumably, then write its report",
        description="Runs every run of SUITE not yet done into DIR; run the same command again after an "
        "interruption to resume (finished runs are skipped, killed ones resume from their checkpoints).",
    )
    be.add_argument("suite", help="suite YAML file, e.g. benchmarks/suites/cpu-small.yaml")
    be.add_argument("--out", help="results directory (default: the suite's out:)")
    be.add_argument("--engine", choices=["local", "ray"], default="local", help="where runs execute")
    be.add_argument("--parallel", type=int, default=1, help="local runs at a time (default 1)")
    be.add_argument("--threads", type=int, help="torch threads (Ray: CPUs) per run; default cores/parallel")
    be.add_argument("--address", help="Ray cluster address for --engine ray (default: start a local Ray)")
    be.add_argument("--no-checkpoints", action="store_true", help="delete each run's checkpoint when it ends")
    be.add_argument(
        "--only",
        action="append",
        metavar="PATTERN",
        help="run only TASK/METHOD/sSEED matching this shell pattern, e.g. 'walker-walk/sac/*' or '*/*/s1' "
        "(repeatable; the report still covers every run in DIR)",
    )
    be.set_defaults(func=_bench)
    rp = sub.add_parser("report", help="write DIR/report.md, CSVs and figures of a gorl bench directory")
    rp.add_argument("dir", help="the --out of a gorl bench")
    rp.set_defaults(func=_report)
    pl = sub.add_parser("plot", help="pictures of trained runs: gorl plot actions RUN [RUN ...] --out FILE")
    pl.add_argument("what", choices=["actions"], help="actions: sampled action densities at a fixed state")
    pl.add_argument(
        "rest", nargs=argparse.REMAINDER, help="RUN directories and options (see gorl plot actions -h)"
    )
    pl.set_defaults(func=_plot)
    return ap


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``gorl`` command."""
    args = parser().parse_args(argv)
    if args.command is None:
        parser().print_help()
        return 2
    try:
        return int(args.func(args))
    except ValidationError as e:
        print(f"gorl: invalid configuration:\n{e}", file=sys.stderr)
    except NonFiniteError as e:  # before RuntimeError, its base
        print(f"gorl: training stopped: {e}. The last good checkpoint is kept.", file=sys.stderr)
    except (RegistryError, CheckpointError, OSError, ValueError, RuntimeError, MissingLoggerPackage) as e:
        print(f"gorl: {e}", file=sys.stderr)
    except KeyboardInterrupt:  # what was stopped has said how to continue; no traceback
        print("gorl: interrupted", file=sys.stderr)
        return 130
    return 1


if __name__ == "__main__":
    sys.exit(main())
