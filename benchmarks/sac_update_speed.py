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
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


class Reference:
    """The plain-PyTorch SAC described in the module docstring: ``update()`` is one gradient step on a
    uniform batch from its buffer (10,000 random transitions to start with), ``act(obs)`` a tanh-Gaussian
    draw, ``store(...)`` appends transitions FIFO (the reference loop's replay)."""

    def __init__(self, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        self.actor, self.critics = _mlp(OBS, 2 * ACT), [_mlp(OBS + ACT, 1) for _ in range(2)]
        self.targets = [_mlp(OBS + ACT, 1) for _ in range(2)]
        for t, q in zip(self.targets, self.critics, strict=True):
            t.load_state_dict(q.state_dict())
            t.requires_grad_(False)
        self.log_alpha = torch.zeros((), requires_grad=True)
        critic_params = [p for q in self.critics for p in q.parameters()]
        self.optims = [
            torch.optim.Adam(self.actor.parameters(), lr=3e-4),
            torch.optim.Adam(critic_params, lr=3e-4),
            torch.optim.Adam([self.log_alpha], lr=3e-4),
        ]
        self.obs, self.next_obs = torch.randn(BUFFER, OBS, generator=g), torch.randn(BUFFER, OBS, generator=g)
        self.action = torch.rand(BUFFER, ACT, generator=g) * 2 - 1
        self.reward, self.done = torch.rand(BUFFER, 1, generator=g), torch.zeros(BUFFER, 1)
        self.cursor = 0

    def policy(self, s: Tensor) -> tuple[Tensor, Tensor]:
        loc, log_scale = self.actor(s).chunk(2, dim=-1)
        scale = log_scale.clamp(-5.0, 2.0).exp()
        eps = torch.randn_like(loc)
        u = loc + scale * eps
        log_prob = (-0.5 * eps.pow(2) - scale.log() - 0.5 * math.log(2 * math.pi)).sum(-1, keepdim=True)
        log_det = (2 * (math.log(2.0) - u - nn.functional.softplus(-2 * u))).sum(-1, keepdim=True)
        return torch.tanh(u), log_prob - log_det

    @torch.no_grad()
    def act(self, obs: Tensor) -> Tensor:
        return self.policy(obs)[0]

    def store(self, obs: Tensor, action: Tensor, reward: Tensor, next_obs: Tensor, done: Tensor) -> None:
        i = (self.cursor + torch.arange(obs.shape[0])) % BUFFER
        self.obs[i], self.action[i], self.next_obs[i] = obs, action, next_obs
        self.reward[i], self.done[i] = reward.reshape(-1, 1), done.reshape(-1, 1).float()
        self.cursor = int(i[-1]) + 1

    def update(self) -> None:
        critics, targets, log_alpha = self.critics, self.targets, self.log_alpha
        i = torch.randint(0, BUFFER, (BATCH,))
        s, a, r, s2, d = self.obs[i], self.action[i], self.reward[i], self.next_obs[i], self.done[i]
        alpha = log_alpha.detach().exp()
        with torch.no_grad():
            a2, lp2 = self.policy(s2)
            x2 = torch.cat([s2, a2], dim=-1)
            y = r + 0.99 * (1 - d) * (torch.min(targets[0](x2), targets[1](x2)) - alpha * lp2)
        x = torch.cat([s, a], dim=-1)
        loss_q = sum(nn.functional.mse_loss(q(x), y) for q in critics)
        a_new, lp = self.policy(s)
        x_new = torch.cat([s, a_new], dim=-1)
        q_new = torch.min(
            *(functional_call(q, {k: v.detach() for k, v in q.named_parameters()}, (x_new,)) for q in critics)
        )
        loss_actor = (alpha * lp - q_new).mean()
        loss_alpha = -(log_alpha * (lp.detach() - ACT)).mean()
        for o in self.optims:
            o.zero_grad(set_to_none=True)
        (loss_actor + loss_q + loss_alpha).backward()
        for o in self.optims:
            o.step()
        with torch.no_grad():
            for t, q in zip(targets, critics, strict=True):
                for pt, p in zip(t.parameters(), q.parameters(), strict=True):
                    pt.lerp_(p, 0.005)


class ReferenceLoop:
    """The plain-PyTorch SAC loop on gorl's cheetah-run env (2 envs, as the cpu preset): act, env step,
    store, one ``Reference.update()`` per transition; ``rollout_s`` is the time outside the updates."""

    def __init__(self, seed: int = 0) -> None:
        from gorl.envs import make_env

        self.ref = Reference(seed)
        self.env = make_env("cheetah-run", 2, seed=seed)
        self.td = self.env.reset()
        self.env_steps, self.rollout_s = 0, 0.0

    def run(self, steps: int) -> None:
        n = self.env.num_envs
        for _ in range(steps // n):
            t0 = time.perf_counter()
            obs = self.td["observation"]
            self.td["action"] = self.ref.act(obs)
            stepped, self.td = self.env.step_and_maybe_reset(self.td)
            nxt = stepped["next"]
            self.ref.store(obs, stepped["action"], nxt["reward"], nxt["observation"], nxt["terminated"])
            self.rollout_s += time.perf_counter() - t0
            for _ in range(n):
                self.ref.update()
            self.env_steps += n


def gorl_learner(
    method: str, out: Path, seed: int = 0, scale: str = "cpu", optimizer: dict[str, Any] | None = None
) -> SACLatentOptimizer:
    """The learner of a ``Trainer`` for ``method`` on cheetah-run after its warm-up (1,000 env steps
    unless ``optimizer`` says otherwise) and 10 updates; for a GoRL method, bound to a fresh flow decoder
    as after its first refit."""
    from gorl.train import Trainer
    from gorl.train_config import TrainConfig

    config = TrainConfig(
        task="cheetah-run",
        method=method,
        total_steps=1_000_000,
        seed=seed,
        progress=False,
        threads=torch.get_num_threads(),
        scale=scale,
        # 5 batched steps of 2 envs per iterate() by default
        optimizer=optimizer or {"warmup_steps": 1_000, "steps_per_iteration": 10},
        plot=False,
    )
    trainer = Trainer(config, out)
    learner = trainer.learner
    assert isinstance(learner, SACLatentOptimizer), f"{method} is not an SAC method"
    if trainer.schedule.decoder is not None:
        decoder = trainer.make_decoder(trainer.schedule.decoder)
        learner.bind(trainer.policy.with_decoder(decoder), new_decoder=True)
    while learner.updates < 10:
        learner.iterate()
    return learner


PROFILED = {  # label -> (file suffix, function name) in cProfile's table
    "sac_losses": ("gorl/algos/sac/losses.py", "sac_losses"),
    "  TD(0) target (no grad)": ("gorl/algos/sac/losses.py", "td0_target"),
    "  twin critics (ensemble_mlp)": ("gorl/algos/sac/critic.py", "ensemble_mlp"),
    "  flow decoder (euler_integrate)": ("gorl/decoders/functional.py", "euler_integrate"),
    "SACLoss.forward": ("torchrl/objectives/sac.py", "forward"),
    "backward": ("torch/_tensor.py", "backward"),
    "Adam steps": ("torch/optim/adam.py", "step"),
    "linear (the arithmetic)": ("~", "<built-in method torch._C._nn.linear>"),
}


def profile(step: Callable[[], object], updates: int) -> str:
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
        lines.append(f"  {label:<34} {cum:7.2f} s  {cum / total:5.1%}")
    return "\n".join(lines)


class GorlLoop:
    """``learner.iterate()`` timed, with the time in collection (``rollout.collect`` and the replay's
    ``extend``) kept apart: the rest is the updates."""

    def __init__(self, learner: SACLatentOptimizer) -> None:
        self.learner, self.rollout_s = learner, 0.0
        for owner, name in ((learner.rollout, "collect"), (learner.buffer, "extend")):
            setattr(owner, name, self._timed(getattr(owner, name)))

    def _timed(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            out = fn(*args, **kwargs)
            self.rollout_s += time.perf_counter() - t0
            return out

        return timed

    @property
    def env_steps(self) -> int:
        return self.learner.env_steps

    def run(self, steps: int) -> None:
        start = self.learner.env_steps
        while self.learner.env_steps - start < steps:
            self.learner.iterate()


def measure(
    updates: dict[str, Callable[[], object]], loops: dict[str, Any], rounds: int, n: int
) -> dict[str, list[float]]:
    """``rounds`` counted rounds (and one warm-up): ``n`` updates of every side, then ``n`` env steps of
    every loop, the order alternating between rounds. Per round: ms per update, its ratio to the
    reference's, loop env steps/s, its ratio to the reference loop's, and the loop's rollout share."""
    out: dict[str, list[float]] = {}
    for r in range(rounds + 1):
        took: dict[str, float] = {}
        for k in updates if r % 2 == 0 else list(updates)[::-1]:
            t0 = time.perf_counter()
            for _ in range(n):
                updates[k]()
            took[k] = (time.perf_counter() - t0) / n * 1e3
        for k in loops if r % 2 == 0 else list(loops)[::-1]:
            loop = loops[k]
            steps0, rollout0, t0 = loop.env_steps, loop.rollout_s, time.perf_counter()
            loop.run(n)
            wall = time.perf_counter() - t0
            took[f"loop {k}"] = (loop.env_steps - steps0) / wall
            took[f"rollout {k}"] = (loop.rollout_s - rollout0) / wall
        if r == 0:
            continue
        for k in updates:
            took[f"ratio {k}"] = took[k] / took["reference"]
        for k in loops:
            took[f"loop ratio {k}"] = took[f"loop {k}"] / took["loop reference"]
        for k, v in took.items():
            out.setdefault(k, []).append(v)
        print(f"round {r}: " + ", ".join(f"{k} {v:.3g}" for k, v in took.items()), flush=True)
    return out


def table(
    res: dict[str, list[float]], sides: list[str], threads: int, load: tuple[float, float]
) -> list[str]:
    """The Markdown table of ``measure``'s medians."""
    med = {k: statistics.median(v) for k, v in res.items()}
    lines = [
        f"**{threads} thread(s)**; load average (1 min) {load[0]:.1f} before, {load[1]:.1f} after.",
        "",
        "| side | ms / update | updates / s | update / reference (same round) | loop env steps / s "
        "| loop / reference loop (same round) | rollout share of the loop |",
        "|---|---|---|---|---|---|---|",
    ]
    for k in sides:
        label = "reference (plain PyTorch, tanh-Gaussian)" if k == "reference" else f"gorl `{k}`"
        lines.append(
            f"| {label} | {med[k]:.2f} | {1e3 / med[k]:.0f} | {med[f'ratio {k}']:.2f} "
            f"| {med[f'loop {k}']:.0f} | {med[f'loop ratio {k}']:.2f} | {med[f'rollout {k}']:.1%} |"
        )
    return lines


def many_envs(envs: list[int], batched_steps: int, tmp: Path) -> list[str]:
    """The ``paper`` preset (MuJoCo Playground's SAC: 128 envs, batch 512, 8 updates per batched step)
    scaled to N envs: batch 4N, N/16 updates per batched step (``utd_ratio`` 1/16), layer-normed critics
    and normalised observations; ``batched_steps`` batched steps of ``sac`` after the warm-up, timed with
    the rollout apart. Returns a Markdown table."""
    lines = [
        "| envs N | batch | updates / batched step | env steps / s | updates / s | ms / update "
        "| update share of the loop |",
        "|---|---|---|---|---|---|---|",
    ]
    for n in envs:
        steps = n * batched_steps
        opt = {"num_envs": n, "batch_size": 4 * n, "steps_per_iteration": steps, "warmup_steps": 8 * n}
        learner = gorl_learner(
            "sac", tmp / f"many{n}", scale="paper", optimizer=opt | {"buffer_size": 100_000}
        )
        loop = GorlLoop(learner)
        updates0, t0 = learner.updates, time.perf_counter()
        loop.run(steps)
        wall = time.perf_counter() - t0
        updates = learner.updates - updates0
        share = 1.0 - loop.rollout_s / wall
        lines.append(
            f"| {n} | {4 * n} | {n * learner.config.utd_ratio:g} | {steps / wall:.0f} | {updates / wall:.1f} "
            f"| {(wall - loop.rollout_s) / max(updates, 1) * 1e3:.1f} | {share:.1%} |"
        )
        print(lines[-1], flush=True)
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5, help="counted rounds (one more warms up)")
    ap.add_argument(
        "--updates", type=int, default=100, help="updates (and loop env steps) per side per round"
    )
    ap.add_argument("--threads", type=int, nargs="+", default=[1], help="torch threads, one table each")
    ap.add_argument("--out", type=Path, default=None, help="Markdown table (default: a temp file)")
    ap.add_argument("--profile", choices=["reference", "sac", "gorl-sac-fm"], default=None)
    ap.add_argument(
        "--many", type=int, nargs="+", default=None, help="env counts N: the paper preset scaled to N envs"
    )
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads[0])
    tmp = Path(tempfile.mkdtemp(prefix="sac_update_speed_"))
    if args.many is not None:
        head = [
            "# SAC with many envs on a CPU",
            "",
            f"`python benchmarks/sac_update_speed.py --many {' '.join(map(str, args.many))} --rounds "
            f"{args.rounds}`: `sac` at the paper preset scaled to N envs, {args.rounds} batched steps after "
            f"the warm-up; torch {torch.__version__}, {args.threads[0]} thread(s); load average (1 min) "
            f"{os.getloadavg()[0]:.1f} at the start.",
            "",
        ]
        text = "\n".join(head + many_envs(args.many, args.rounds, tmp)) + "\n"
        print(text)
        if args.out is not None:
            atomic_write_text(args.out, text)
        return 0
    if args.profile is not None:
        step = Reference().update if args.profile == "reference" else gorl_learner(args.profile, tmp).update
        print(f"{args.profile}, {args.threads[0]} thread(s): " + profile(step, args.updates))
        return 0
    out = args.out or tmp / "sac_update_speed.md"
    learners = {m: gorl_learner(m, tmp / m) for m in ("sac", "gorl-sac-fm")}
    reference = ReferenceLoop()
    # one gradient step each (and, for gorl, the float() of its stats: a sync a loop has too)
    updates: dict[str, Callable[[], object]] = {"reference": reference.ref.update}
    updates |= {m: learner.update for m, learner in learners.items()}
    loops: dict[str, Any] = {"reference": reference} | {m: GorlLoop(x) for m, x in learners.items()}
    lines = [
        "# SAC update and loop speed on a CPU",
        "",
        f"`python benchmarks/sac_update_speed.py --rounds {args.rounds} --updates {args.updates} "
        f"--threads {' '.join(map(str, args.threads))}`; torch {torch.__version__}; medians over "
        f"{args.rounds} rounds; each round times {args.updates} updates of every side, then "
        f"{args.updates} env steps of every loop (2 envs, one update per env step), order alternating. "
        "Ratios are taken within a round, so load that hits all sides alike cancels; the load average "
        "of the machine is given with each table.",
        "",
    ]
    for threads in args.threads:
        torch.set_num_threads(threads)
        before = os.getloadavg()[0]
        res = measure(updates, loops, args.rounds, args.updates)
        lines += [*table(res, list(updates), threads, (before, os.getloadavg()[0])), ""]
    text = "\n".join(lines)
    print(text)
    atomic_write_text(out, text)
    print(f"table: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
