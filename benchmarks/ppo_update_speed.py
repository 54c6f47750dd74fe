"""PPO update speed per gradient step: gorl's update path against TorchRL's recipe update, same nets.

Both update one 2,048-transition batch the way their training loops do: advantages (GAE) recomputed
before each of 10 epochs, 32 minibatches of 64 per epoch, the clipped loss, backward and two Adam
steps. Same networks on both sides: a 64x64 tanh policy on 17 observations and 6 actions
(cheetah-run's sizes) and a 64x64 tanh critic. TorchRL's side is what its PPO recipe runs
(`pytorch/rl` `sota-implementations/ppo/ppo_mujoco.py`): `GAE` over the batch TensorDict, a
`ReplayBuffer` with `SamplerWithoutReplacement` for minibatches, `ClipPPOLoss` on a TanhNormal
`ProbabilisticActor`. gorl's side is `PPOOptimizer.update`. Rounds alternate (gorl first on
even rounds) so machine load hits both alike; the figure is the median over rounds of each side's
seconds per gradient step, and their ratio:

    python benchmarks/ppo_update_speed.py    # 10 rounds; writes benchmarks/results/ppo_update_speed.md
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gorl.checkpoint import atomic_write_text  # noqa: E402

N_ENVS, T, OBS, ACT = 8, 256, 17, 6
EPOCHS, MINIBATCHES = 10, 32


def _batch(generator: torch.Generator) -> dict[str, torch.Tensor]:
    """A synthetic rollout ``(N, T, ...)`` (the update's cost does not depend on the values)."""
    done = torch.zeros(N_ENVS, T, dtype=torch.bool)
    done[:, -1] = True
    return {
        "obs": torch.randn(N_ENVS, T, OBS, generator=generator),
        "next_obs": torch.randn(N_ENVS, T, OBS, generator=generator),
        "latent": torch.randn(N_ENVS, T, ACT, generator=generator),
        "log_prob": -torch.rand(N_ENVS, T, generator=generator) * 8,
        "reward": torch.rand(N_ENVS, T, generator=generator),
        "done": done,
        "terminated": torch.zeros(N_ENVS, T, dtype=torch.bool),
    }


def gorl_update():
    """gorl's PPO with the cpu preset's layout and 64x64 tanh nets; returns ``f(batch)``."""
    import gorl.decoders as decoders
    import gorl.encoders as encoders
    from gorl.algos.ppo import PPOOptimizer, preset
    from gorl.composite import CompositePolicy

    class _Env:  # the optimiser reads only sizes from the env here
        num_envs, obs_dim, action_dim = N_ENVS, OBS, ACT

    enc = encoders.make("gaussian", obs_dim=OBS, latent_dim=ACT, hidden=[64, 64], activation="tanh")
    policy = CompositePolicy(enc, decoders.make("identity", obs_dim=OBS, action_dim=ACT))
    cfg = preset(
        "cpu",
        critic_hidden=[64, 64],
        critic_activation="tanh",
        update_epochs=EPOCHS,
        num_minibatches=MINIBATCHES,
    )
    learner = PPOOptimizer(_Env(), policy, cfg)  # type: ignore[arg-type]
    return learner.update


def torchrl_update():
    """TorchRL's recipe update (GAE, ReplayBuffer minibatches, ClipPPOLoss); returns ``f(batch)``."""
    from tensordict import TensorDict
    from tensordict.nn import AddStateIndependentNormalScale, TensorDictModule
    from torchrl.data import LazyTensorStorage, ReplayBuffer
    from torchrl.data.replay_buffers.samplers import SamplerWithoutReplacement
    from torchrl.modules import ProbabilisticActor, TanhNormal, ValueOperator
    from torchrl.objectives import ClipPPOLoss
    from torchrl.objectives.value import GAE

    def net(out: int) -> nn.Sequential:
        return nn.Sequential(nn.Linear(OBS, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, out))

    actor = ProbabilisticActor(
        TensorDictModule(
            nn.Sequential(net(ACT), AddStateIndependentNormalScale(ACT, scale_lb=1e-8)),
            in_keys=["observation"],
            out_keys=["loc", "scale"],
        ),
        in_keys=["loc", "scale"],
        distribution_class=TanhNormal,
        distribution_kwargs={"low": -1.0, "high": 1.0, "tanh_loc": False},
        return_log_prob=True,
    )
    critic = ValueOperator(net(1), in_keys=["observation"])
    loss = ClipPPOLoss(
        actor, critic, clip_epsilon=0.2, entropy_coeff=0.0, critic_coeff=0.25, loss_critic_type="l2"
    )
    gae = GAE(gamma=0.99, lmbda=0.95, value_network=critic, average_gae=False)
    optims = [torch.optim.Adam(m.parameters(), lr=3e-4, eps=1e-5) for m in (actor, critic)]
    size = N_ENVS * T
    buffer = ReplayBuffer(
        storage=LazyTensorStorage(size), sampler=SamplerWithoutReplacement(), batch_size=size // MINIBATCHES
    )

    def update(b: dict[str, torch.Tensor]) -> None:
        action = torch.tanh(b["latent"])
        data = TensorDict(
            {
                "observation": b["obs"],
                "action": action,
                "action_log_prob": b["log_prob"],
                "next": {
                    "observation": b["next_obs"],
                    "reward": b["reward"].unsqueeze(-1),
                    "done": b["done"].unsqueeze(-1),
                    "terminated": b["terminated"].unsqueeze(-1),
                },
            },
            batch_size=[N_ENVS, T],
        )
        for _ in range(EPOCHS):
            with torch.no_grad():
                data = gae(data)
            buffer.extend(data.reshape(-1))
            for _ in range(MINIBATCHES):
                mb = buffer.sample()
                out = loss(mb)
                total = out["loss_objective"] + out["loss_critic"] + out["loss_entropy"]
                total.backward()
                for o in optims:
                    o.step()
                    o.zero_grad(set_to_none=True)

    return update


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    sides = {"gorl": gorl_update(), "torchrl": torchrl_update()}
    batch = _batch(gen)
    for f in sides.values():  # warm-up
        f(batch)
    per_step: dict[str, list[float]] = {k: [] for k in sides}
    steps = EPOCHS * MINIBATCHES
    for r in range(args.rounds):
        order = list(sides) if r % 2 == 0 else list(reversed(sides))
        for name in order:
            t0 = time.perf_counter()
            sides[name](batch)
            per_step[name].append((time.perf_counter() - t0) / steps)
    med = {k: statistics.median(v) for k, v in per_step.items()}
    ratio = med["torchrl"] / med["gorl"]
    text = "\n".join(
        [
            "# PPO update speed per gradient step (same nets: 64x64 tanh policy and critic, minibatch 64)",
            "",
            f"`python benchmarks/ppo_update_speed.py --rounds {args.rounds} --threads {args.threads}`; "
            f"{steps} gradient steps per round (10 epochs x 32 minibatches over 2,048 transitions, GAE "
            "before each epoch), rounds alternating; median over rounds.",
            "",
            "| update path | ms per gradient step | min | max |",
            "|---|---|---|---|",
            *[
                f"| {k} | {med[k] * 1e3:.3f} | {min(v) * 1e3:.3f} | {max(v) * 1e3:.3f} |"
                for k, v in per_step.items()
            ],
            "",
            f"gorl is {ratio:.2f}x TorchRL's recipe speed per gradient step.",
            "",
        ]
    )
    print(text)
    atomic_write_text(ROOT / "benchmarks" / "results" / "ppo_update_speed.md", text)


if __name__ == "__main__":
    main()
