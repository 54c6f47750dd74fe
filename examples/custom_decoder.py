"""Write a decoder in your own file, register it, check it, pair it, and train GoRL with it.

The decoder here is a conditional Gaussian written as a map of z, ``a = mu(s) + sigma(s) * z``
(elementwise, so ``latent_dim == action_dim``), registered as "affine". Its loss is the exact negative
log-likelihood of the unsquashed action under N(mu(s), sigma(s)^2). z does not enter the loss, yet it
matters: the loss fits sigma(s) to the actions' spread at s, and ``decode(s, z)`` with z ~ N(0, I) is
the reparameterisation of that Gaussian, so it samples the fitted conditional distribution. Different
z give actions sigma(s) * (z1 - z2) apart, and the encoder steers the policy by choosing z. (A loss
that regresses ``decode(s, z)`` on actions with z drawn independently of them would instead drive the
z terms to 0: the regression's best answer ignores z, and the encoder would have nothing to steer.)
The script checks this after training: decoding the same states with z and -z gives actions far apart.

One Gaussian per state cannot hold two action modes; the built-in "flow" and "diffusion" decoders can
(``tests/decoders/test_expressiveness.py``). This one is here to show the interface in a few lines.

Run: python examples/custom_decoder.py   (under a minute on a laptop CPU)
"""

import torch
from torch import nn

import gorl.decoders
import gorl.encoders
from gorl.composite import CompositePolicy
from gorl.testing import check_decoder


@gorl.decoders.register("affine")
class AffineGaussianDecoder(nn.Module):
    """a = mu(s) + sigma(s) * z, fitted by maximum likelihood of a under N(mu(s), sigma(s)^2)."""

    trainable = True
    couples = False  # its loss has no use for the noise an action came from: refits draw independent pairs

    def __init__(self, *, obs_dim: int, action_dim: int, latent_dim: int, hidden: int = 64):
        super().__init__()
        if latent_dim != action_dim:
            raise ValueError(f"this decoder needs latent_dim == action_dim, got {latent_dim} != {action_dim}")
        self.obs_dim, self.action_dim, self.latent_dim = obs_dim, action_dim, latent_dim
        self.net = nn.Sequential(
            nn.Linear(obs_dim, hidden),
            nn.SiLU(),
            nn.Linear(hidden, hidden),
            nn.SiLU(),
            nn.Linear(hidden, 2 * action_dim),
        )

    def _mu_sigma(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if obs.shape[-1] != self.obs_dim:
            raise ValueError(f"expected obs (..., {self.obs_dim}), got {tuple(obs.shape)}")
        mu, raw = self.net(obs).chunk(2, dim=-1)
        return mu, nn.functional.softplus(raw) + 1e-3

    def decode(self, obs: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        if z.shape[-1] != self.latent_dim:
            raise ValueError(f"expected z (..., {self.latent_dim}), got {tuple(z.shape)}")
        mu, sigma = self._mu_sigma(obs)
        return mu + sigma * z

    def loss(self, obs: torch.Tensor, action: torch.Tensor, generator=None, noise=None) -> torch.Tensor:
        # exact: the decoder's output distribution for z ~ N(0, I) is N(mu, sigma^2); no z is drawn
        mu, sigma = self._mu_sigma(obs)
        return -torch.distributions.Normal(mu, sigma).log_prob(action).mean()

    def reset_parameters(self) -> None:
        for m in self.net:
            if isinstance(m, nn.Linear):
                m.reset_parameters()


def z_spread(decoder: AffineGaussianDecoder, obs: torch.Tensor, seed: int = 0) -> float:
    """Mean |decode(s, z) - decode(s, -z)| over states ``obs (N, obs_dim)`` and action dims."""
    z = torch.randn(obs.shape[0], decoder.latent_dim, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return (decoder.decode(obs, z) - decoder.decode(obs, -z)).abs().mean().item()


if __name__ == "__main__":
    # 1. the library's conformance suite
    check_decoder(AffineGaussianDecoder, obs_dim=17, action_dim=6, batch_shape=(4, 3))
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
    trainer = Trainer(cfg, "runs/example-affine")
    summary = trainer.run()
    print(f"final evaluation return {summary['final_return']:.1f} (200-step episodes)")
    # 4. the fitted decoder uses z: the same (normalised) states decoded with z and -z land
    # 2 * sigma(s) * |z| apart, on average 1.6 * sigma(s) (about 1.3 here, with sigma fitted to the
    # spread of the stochastic rollouts' raw actions); a decoder that ignored z would give 0
    decoder = trainer.policy.decoder
    assert isinstance(decoder, AffineGaussianDecoder)
    spread = z_spread(decoder, torch.randn(512, 17, generator=torch.Generator().manual_seed(1)))
    print(f"mean |decode(s, z) - decode(s, -z)| = {spread:.3f}")
    assert spread > 0.5, f"the fitted decoder barely depends on z ({spread:.3f})"
