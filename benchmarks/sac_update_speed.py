"""SAC update speed on a CPU: gorl's `sac` and `gorl-sac-fm` updates against a plain-PyTorch SAC update.

The reference is the smallest SAC update of the same size written directly in PyTorch: a tanh-Gaussian
actor and twin critics, all 256x256 ReLU MLPs on cheetah-run's sizes (17 observations, 6 actions),
batch 256 drawn uniformly from a 10,000-transition buffer, TD(0) targets from polyak-averaged target
critics, the actor loss through the critics with their weights detached (as TorchRL's `SACLoss` does),
automatic temperature, one backward and three Adam steps. It is what an SAC of this size costs without
TensorDict, `SACLoss` or gorl's latent machinery.

gorl's sides are the `sac` and `gorl-sac-fm` learners of a real `Trainer` on cheetah-run (CPU preset:
the same widths and batch; 10 env steps per ``iterate()``), after 1,000 warm-up env steps;
`gorl-sac-fm` has a flow decoder bound, as after its first refit, so its actor loss and targets decode
through the flow's 10 Euler steps.

Each round times ``--updates`` updates of every side (``update()``), in an order that alternates between
rounds so that machine load hits all alike, then ``--updates`` env steps of each gorl loop
(``iterate()``: acting, env step, replay, one update per transition); round 0 warms up and is not
counted. The table gives medians over rounds: milliseconds per update, updates per second, the ratio to
the reference measured in the same round, and the loop's env steps per second.

    python benchmarks/sac_update_speed.py --out benchmarks/results/sac_update_speed.md
    python benchmarks/sac_update_speed.py --profile sac --updates 1000   # where one side's time goes

``--profile SIDE`` runs cProfile over ``--updates`` updates of one side instead, and prints the time in
`SACLoss.forward` (and its critic and actor terms), backward, the Adam steps and `torch.nn.functional.linear`
(the network arithmetic) as a share of the whole.
"""

from __future__ import annotations

import argparse
import cProfile
import math
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.func import functional_call

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gorl.algos.sac import SACLatentOptimizer  # noqa: E402
from gorl.checkpoint import atomic_write_text  # noqa: E402

OBS, ACT, WIDTH, BATCH, BUFFER = 17, 6, 256, 256, 10_000


def _mlp(i: int, o: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(i, WIDTH), nn.ReLU(), nn.Linear(WIDTH, WIDTH), nn.ReLU(), nn.Linear(WIDTH, o)
    )


def reference_update(seed: int = 0) -> Callable[[], None]:
    """The plain-PyTorch SAC update described in the module docstring; returns ``step()``."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    actor, critics = _mlp(OBS, 2 * ACT), [_mlp(OBS + ACT, 1) for _ in range(2)]
    targets = [_mlp(OBS + ACT, 1) for _ in range(2)]
    for t, q in zip(targets, critics, strict=True):
        t.load_state_dict(q.state_dict())
        t.requires_grad_(False)
    log_alpha = torch.zeros((), requires_grad=True)
    critic_params = [p for q in critics for p in q.parameters()]
    optims = [
        torch.optim.Adam(actor.parameters(), lr=3e-4),
        torch.optim.Adam(critic_params, lr=3e-4),
        torch.optim.Adam([log_alpha], lr=3e-4),
    ]
    obs, next_obs = torch.randn(BUFFER, OBS, generator=g), torch.randn(BUFFER, OBS, generator=g)
    action = torch.rand(BUFFER, ACT, generator=g) * 2 - 1
    reward, done = torch.rand(BUFFER, 1, generator=g), torch.zeros(BUFFER, 1)

    def policy(s: Tensor) -> tuple[Tensor, Tensor]:
        loc, log_scale = actor(s).chunk(2, dim=-1)
        scale = log_scale.clamp(-5.0, 2.0).exp()
        eps = torch.randn_like(loc)
        u = loc + scale * eps
        log_prob = (-0.5 * eps.pow(2) - scale.log() - 0.5 * math.log(2 * math.pi)).sum(-1, keepdim=True)
        log_det = (2 * (math.log(2.0) - u - nn.functional.softplus(-2 * u))).sum(-1, keepdim=True)
        return torch.tanh(u), log_prob - log_det

    def step() -> None:
        i = torch.randint(0, BUFFER, (BATCH,))
        s, a, r, s2, d = obs[i], action[i], reward[i], next_obs[i], done[i]
        alpha = log_alpha.detach().exp()
        with torch.no_grad():
            a2, lp2 = policy(s2)
            x2 = torch.cat([s2, a2], dim=-1)
            y = r + 0.99 * (1 - d) * (torch.min(targets[0](x2), targets[1](x2)) - alpha * lp2)
        x = torch.cat([s, a], dim=-1)
        loss_q = sum(nn.functional.mse_loss(q(x), y) for q in critics)
        a_new, lp = policy(s)
        x_new = torch.cat([s, a_new], dim=-1)
        q_new = torch.min(
            *(functional_call(q, {k: v.detach() for k, v in q.named_parameters()}, (x_new,)) for q in critics)
        )
        loss_actor = (alpha * lp - q_new).mean()
        loss_alpha = -(log_alpha * (lp.detach() - ACT)).mean()
        for o in optims:
            o.zero_grad(set_to_none=True)
        (loss_actor + loss_q + loss_alpha).backward()
        for o in optims:
            o.step()
        with torch.no_grad():
            for t, q in zip(targets, critics, strict=True):
                for pt, p in zip(t.parameters(), q.parameters(), strict=True):
                    pt.lerp_(p, 0.005)

    return step


def gorl_learner(method: str, out: Path, seed: int = 0):
    """The learner of a ``Trainer`` for ``method`` on cheetah-run after 1,000 warm-up env steps; for a
    GoRL method, bound to a fresh flow decoder as after its first refit."""
    from gorl.train import Trainer
    from gorl.train_config import TrainConfig

    config = TrainConfig(
        task="cheetah-run",
        method=method,
        total_steps=1_000_000,
        seed=seed,
        progress=False,
        threads=torch.get_num_threads(),
        optimizer={"warmup_steps": 1_000, "steps_per_iteration": 10},  # 5 batched steps of 2 envs
        plot=False,
    )
    trainer = Trainer(config, out)
    learner = trainer.learner
    assert isinstance(learner, SACLatentOptimizer), f"{method} is not an SAC method"
    if trainer.schedule.decoder is not None:
        learner.bind(trainer.policy.with_decoder(trainer.make_decoder(trainer.schedule.decoder)))
    while learner.updates < 10:
        learner.iterate()
    return learner


PROFILED = {  # label -> (file suffix, function name) in cProfile's table
    "SACLoss.forward": ("torchrl/objectives/sac.py", "forward"),
    "  twin-critic loss": ("torchrl/objectives/sac.py", "qvalue_v2_loss"),
    "  actor loss": ("torchrl/objectives/sac.py", "actor_loss"),
    "backward": ("torch/_tensor.py", "backward"),
    "Adam steps": ("torch/optim/adam.py", "step"),
    "linear (the arithmetic)": ("~", "<built-in method torch._C._nn.linear>"),
}


def profile(step: Callable[[], None], updates: int) -> str:
    """cProfile of ``updates`` calls of ``step``: the cumulative seconds of ``PROFILED``'s functions."""
    for _ in range(10):
        step()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(updates):
        step()
    prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    total = sum(tt for _, _, tt, _, _ in stats.values())
    lines = [f"{updates} updates, {total:.2f} s under cProfile ({total / updates * 1e3:.1f} ms per update)"]
    for label, (suffix, name) in PROFILED.items():
        cum = sum(v[3] for (file, _, fn), v in stats.items() if fn == name and file.endswith(suffix))
        lines.append(f"  {label:<26} {cum:7.2f} s  {cum / total:5.1%}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5, help="counted rounds (one more warms up)")
    ap.add_argument("--updates", type=int, default=100, help="updates per side per round")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--out", type=Path, default=None, help="Markdown table (default: a temp file)")
    ap.add_argument("--profile", choices=["reference", "sac", "gorl-sac-fm"], default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="sac_update_speed_"))
    if args.profile is not None:
        step = reference_update() if args.profile == "reference" else gorl_learner(args.profile, tmp).update
        print(f"{args.profile}, {args.threads} thread(s): " + profile(step, args.updates))
        return 0
    out = args.out or tmp / "sac_update_speed.md"
    sides: dict[str, Callable[[], None]] = {"reference": reference_update()}
    learners = {m: gorl_learner(m, tmp / m) for m in ("sac", "gorl-sac-fm")}
    for m, learner in learners.items():
        sides[m] = learner.update  # one gradient step (and the float() of its stats, a sync a loop has too)
    ms: dict[str, list[float]] = {k: [] for k in sides}
    ratio: dict[str, list[float]] = {k: [] for k in learners}
    loop: dict[str, list[float]] = {k: [] for k in learners}
    names = list(sides)
    for r in range(args.rounds + 1):
        order = names if r % 2 == 0 else names[::-1]
        took: dict[str, float] = {}
        for k in order:
            fn = sides[k]
            t0 = time.perf_counter()
            for _ in range(args.updates):
                fn()
            took[k] = (time.perf_counter() - t0) / args.updates * 1e3
        for m, learner in learners.items():  # the whole loop: acting, env step, replay and the updates
            steps0, t0 = learner.env_steps, time.perf_counter()
            while learner.env_steps - steps0 < args.updates:
                learner.iterate()
            took[f"loop {m}"] = (learner.env_steps - steps0) / (time.perf_counter() - t0)
        if r == 0:
            continue
        for k in sides:
            ms[k].append(took[k])
        for m in learners:
            ratio[m].append(took[m] / took["reference"])
            loop[m].append(took[f"loop {m}"])
        print(f"round {r}: " + ", ".join(f"{k} {v:.2f}" for k, v in took.items()), flush=True)
    med = {k: statistics.median(v) for k, v in ms.items()}
    lines = [
        "# SAC update speed on a CPU",
        "",
        f"`python benchmarks/sac_update_speed.py --rounds {args.rounds} --updates {args.updates} "
        f"--threads {args.threads}`; torch {torch.__version__}, {args.threads} thread(s); medians over "
        f"{args.rounds} rounds of {args.updates} updates per side (order alternating).",
        "",
        "| update | ms / update | updates / s | / reference (same round) | loop env steps / s |",
        "|---|---|---|---|---|",
        f"| reference (plain PyTorch, tanh-Gaussian) | {med['reference']:.2f} | {1e3 / med['reference']:.0f} "
        "| 1 | |",
    ]
    for m in learners:
        lines.append(
            f"| gorl `{m}` | {med[m]:.2f} | {1e3 / med[m]:.0f} | {statistics.median(ratio[m]):.2f} "
            f"| {statistics.median(loop[m]):.0f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    atomic_write_text(out, text)
    print(f"table: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
