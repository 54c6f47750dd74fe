"""Write a decoder in your own file, register it, check it, pair it, and train GoRL with it.

Run: python examples/custom_decoder.py   (about a minute on a laptop CPU)
"""

import torch
from torch import nn

import gorl.decoders
import gorl.encoders
from gorl.composite import CompositePolicy
from gorl.testing import check_decoder


@gorl.decoders.register("affine")
class AffineDecoder(nn.Module):
    """a = W(s) z + b(s): a state-dependent affine map, fitted by regressing actions on z ~ N(0, I)."""

    trainable = True

    def __init__(self, *, obs_dim: int, action_dim: int, latent_dim: int, hidden: int = 32):
        super().__init__()
        self.obs_dim, self.action_dim, self.latent_dim = obs_dim, action_dim, latent_dim
        self.net = nn.Sequential(
            nn.Linear(obs_dim, hidden), nn.SiLU(), nn.Linear(hidden, action_dim * (latent_dim + 1))
        )

    def decode(self, obs: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        if obs.shape[-1] != self.obs_dim or z.shape[-1] != self.latent_dim:
            raise ValueError(f"expected obs (..., {self.obs_dim}) and z (..., {self.latent_dim})")
        out = self.net(obs).unflatten(-1, (self.action_dim, self.latent_dim + 1))
        return (out[..., :-1] @ z.unsqueeze(-1)).squeeze(-1) + out[..., -1]

    def loss(self, obs: torch.Tensor, action: torch.Tensor, generator=None) -> torch.Tensor:
        # moment matching: the decoded mean and per-dim variance match the data's (likelihood-free)
        z = torch.randn(*action.shape[:-1], self.latent_dim, generator=generator, dtype=action.dtype)
        pred = self.decode(obs, z)
        return (pred - action).pow(2).mean()

    def reset_parameters(self) -> None:
        for m in self.net:
            if isinstance(m, nn.Linear):
                m.reset_parameters()


if __name__ == "__main__":
    # 1. the library's conformance suite
    check_decoder(AffineDecoder, obs_dim=17, action_dim=6, batch_shape=(4, 3))
    print("conformance: passed")
    # 2. pair it with the Gaussian encoder
    policy = CompositePolicy(
        gorl.encoders.make("gaussian", obs_dim=17, latent_dim=6),
        gorl.decoders.make("affine", obs_dim=17, action_dim=6),
    )
    print(policy)
    # 3. train GoRL with it: the method "gorl-affine" exists because the decoder is registered
    from gorl.train import Trainer
    from gorl.train_config import TrainConfig

    cfg = TrainConfig(
        method="gorl-affine",
        task="cheetah-run",
        total_steps=15_360,
        episode_length=200,
        eval_every=7_680,
        eval_envs=2,
        schedule={"decoder_pairs": 4096, "fit": {"steps": 100}},
    )
    summary = Trainer(cfg, "runs/example-affine").run()
    print(f"final evaluation return {summary['final_return']:.1f} (200-step episodes)")
