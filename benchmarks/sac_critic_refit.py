"""GoRL(SAC) across a decoder refit: a Q(s, z) critic ("latent") against a Q(s, a) critic ("action").

One seed, one short two-stage run per critic, sized for a shared 2-core CPU (about 10 minutes):

* stage 0: SAC on the encoder with the identity decoder for ``--stage0`` env steps;
* refit: ``decoder_data`` from the stage-0 policy, a fresh flow decoder fitted on it (the CPU methods'
  refit size: 16,384 pairs, 500 steps of 1,024), the encoder reset to the prior, ``bind``;
* stage 1: ``--stage1`` more env steps with the flow decoder frozen.

Arms: ``action`` (critic, targets, alpha and buffer kept: Q(s, a) does not depend on the decoder),
``latent`` (the default for a latent critic: buffer cleared, critics, targets and alpha re-initialised,
warm-up again) and ``latent-keep`` (the latent critic and buffer kept as they are). ``latent`` and
``latent-keep`` branch from the same stage-0 run and the same fitted decoder. Deterministic evaluation
(mean latent) on ``--eval-envs`` fixed episodes at the end of stage 0, right after the refit and every
``--eval-every`` steps of stage 1. Prints a table and writes it to
``benchmarks/results/sac_critic_refit.md``:

    python benchmarks/sac_critic_refit.py
    python benchmarks/sac_critic_refit.py --stage0 2000 --stage1 2000 --eval-every 1000 --out /tmp/x.md
"""

from __future__ import annotations

import argparse
import copy
import os
import shlex
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("MUJOCO_GL", "disable")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import gorl.decoders as decoders  # noqa: E402
import gorl.encoders as encoders  # noqa: E402
from gorl.algos.evaluate import evaluate  # noqa: E402
from gorl.algos.sac import SACConfig, SACLatentOptimizer  # noqa: E402
from gorl.checkpoint import atomic_write_text, seed_everything  # noqa: E402
from gorl.composite import CompositePolicy  # noqa: E402
from gorl.envs import make_env  # noqa: E402
from gorl.twotimescale import FitConfig, fit_decoder  # noqa: E402

ARMS = {
    "action": ("action", {}),
    "latent": ("latent", {}),
    "latent-keep": ("latent", {"latent_refit": "keep"}),
}


def sac_config(critic_input: str) -> SACConfig:
    """The measured setting: the CPU defaults with 128x2 critics and batch 128 (to fit the budget)."""
    return SACConfig(
        num_envs=2,
        steps_per_iteration=1000,
        warmup_steps=1000,
        batch_size=128,
        critic_hidden=[128, 128],
        critic_input=critic_input,  # type: ignore[arg-type]
    )


class Evaluator:
    """Deterministic returns of a policy on the same ``n`` episodes every time."""

    def __init__(self, task: str, n: int, length: int, seed: int) -> None:
        self.env = make_env(task, n, seed=seed + 1_000_003, episode_length=length)
        self.start, self.length = self.env.env_state(), length

    def __call__(self, policy: Any, opt: SACLatentOptimizer) -> float:
        self.env.load_env_state(self.start)
        return float(evaluate(policy, self.env, opt.normalize, self.length).mean())


def train(opt: SACLatentOptimizer, policy: Any, steps: int, every: int, ev: Evaluator, curve: list) -> None:
    """Iterates until ``steps`` more env steps, evaluating every ``every`` steps into ``curve``."""
    start = opt.env_steps
    while opt.env_steps - start < steps:
        m = opt.iterate()
        done = opt.env_steps - start
        if done % every == 0 or done >= steps:
            curve.append((done, ev(policy, opt)))
            print(
                f"  +{done:>6} eval {curve[-1][1]:7.2f}  train {m.get('train_return', float('nan')):7.2f}  "
                f"alpha {m.get('alpha', float('nan')):.4f}  q {m.get('q_policy', float('nan')):8.3f}",
                file=sys.stderr,
                flush=True,
            )


def run_critic(critic_input: str, arms: list[str], args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Stage 0 with one critic kind, one refit, then stage 1 for each arm branching from there."""
    seed_everything(args.seed)
    env = make_env(args.task, 2, seed=args.seed, episode_length=args.episode_length)
    ev = Evaluator(args.task, args.eval_envs, args.episode_length, args.seed)
    encoder = encoders.make("gaussian", obs_dim=env.obs_dim, latent_dim=env.action_dim)
    identity = decoders.make("identity", obs_dim=env.obs_dim, action_dim=env.action_dim)
    stage0_policy = CompositePolicy(encoder, identity, env.action_low, env.action_high)
    opt = SACLatentOptimizer(env, stage0_policy, sac_config(critic_input))
    print(f"[{critic_input}] stage 0", file=sys.stderr)
    stage0: list = []
    train(opt, stage0_policy, args.stage0, args.eval_every, ev, stage0)
    obs, act = opt.decoder_data(args.pairs)
    flow = decoders.make("flow", obs_dim=env.obs_dim, action_dim=env.action_dim)
    fit = FitConfig(steps=args.fit_steps, batch_size=1024, seed=args.seed, progress=False)
    report = fit_decoder(flow, obs, act, fit)
    snapshot = copy.deepcopy(opt.state_dict())
    enc_state, rng = copy.deepcopy(encoder.state_dict()), torch.get_rng_state()
    out = {}
    for arm in arms:
        opt.bind(stage0_policy)  # back to the end of stage 0 (a no-op for the first arm)
        opt.load_state_dict(snapshot)
        encoder.load_state_dict(enc_state)
        torch.set_rng_state(rng)
        policy = stage0_policy.with_decoder(flow)
        encoder.reset_to_prior()
        opt.bind(policy, ARMS[arm][1], new_decoder=True)  # a refit: the latent arms reset or keep
        print(f"[{arm}] refit: buffer {len(opt.buffer)}, critic resets {opt.critic_resets}", file=sys.stderr)
        stage1 = [(0, ev(policy, opt))]
        train(opt, policy, args.stage1, args.eval_every, ev, stage1)
        out[arm] = {
            "stage0": stage0,
            "stage1": stage1,
            "fit_val_loss": report.best_val_loss,
        }
    return out


def table(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> str:
    """A markdown table: one row per arm, stage-0 end, right after the refit, then stage 1's evaluations."""
    arms = list(results)
    points = [s for s, _ in results[arms[0]]["stage1"]]
    head = ["critic (refit)", "stage 0 end", "after refit"] + [f"+{s}" for s in points[1:]]
    head.append(f"mean over +{points[1]}..+{points[-1]}")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for arm in arms:
        r = results[arm]
        after = [v for _, v in r["stage1"]]
        row = [arm, f"{r['stage0'][-1][1]:.1f}"] + [f"{v:.1f}" for v in after]
        row.append(f"{sum(after[1:]) / len(after[1:]):.1f}")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", default="walker-walk")
    p.add_argument("--episode-length", type=int, default=200)
    p.add_argument("--stage0", type=int, default=15_000, help="env steps with the identity decoder")
    p.add_argument("--stage1", type=int, default=10_000, help="env steps after the refit")
    p.add_argument("--eval-every", type=int, default=2000)
    p.add_argument("--eval-envs", type=int, default=5)
    p.add_argument("--pairs", type=int, default=16_384, help="decoder_data pairs for the refit")
    p.add_argument("--fit-steps", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--arms", default="action,latent,latent-keep")
    p.add_argument("--out", default=str(ROOT / "benchmarks/results/sac_critic_refit.md"))
    args = p.parse_args()
    torch.set_num_threads(1)
    arms = args.arms.split(",")
    results: dict[str, dict[str, Any]] = {}
    for critic_input in ("action", "latent"):
        mine = [a for a in arms if ARMS[a][0] == critic_input]
        if mine:
            results |= run_critic(critic_input, mine, args)
    text = table(results, args)
    print(text)
    command = "python benchmarks/sac_critic_refit.py " + shlex.join(sys.argv[1:])
    cfg = sac_config("action").model_dump(exclude={"critic_input"})
    stage0 = {arm: " ".join(f"{s}:{v:.1f}" for s, v in r["stage0"]) for arm, r in results.items()}
    doc = [
        "# GoRL(SAC): the critic across a decoder refit",
        "",
        f"Command: `{command.strip()}` (one process, one torch thread).",
        "",
        f"Task {args.task}, episodes of {args.episode_length} steps (return 0..{args.episode_length}), seed "
        f"{args.seed}. Stage 0: {args.stage0} env steps, identity decoder. Refit: {args.pairs} "
        f"decoder_data pairs, a fresh flow decoder (4x64, 10 Euler steps), {args.fit_steps} fit steps of "
        "1,024; the encoder reset to the prior. Stage 1: "
        f"{args.stage1} env steps. Returns: deterministic (mean latent), mean of {args.eval_envs} fixed "
        "episodes. `after refit` is the refitted policy before any stage-1 update; `+k` after k stage-1 "
        "env steps.",
        "",
        text,
        "",
        "Stage-0 evaluations (env steps: return): "
        + "; ".join(f"{arm}: {s}" for arm, s in stage0.items() if arm != "latent-keep"),
        "",
        "Decoder fit (best validation CFM loss): "
        + ", ".join(f"{arm} {r['fit_val_loss']:.4f}" for arm, r in results.items() if arm != "latent-keep"),
        "",
        f"SAC settings (both critics): `{cfg}`.",
        "",
    ]
    atomic_write_text(Path(args.out), "\n".join(doc))
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
