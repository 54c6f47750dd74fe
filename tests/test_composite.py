import pytest
import torch
from tensordict import TensorDict
from torchrl.envs.utils import ExplorationType, set_exploration_type

import gorl.decoders as D
import gorl.encoders as E
from gorl.composite import CompositePolicy


def _policy(obs_dim=5, action_dim=3, low=-1.0, high=1.0):
    torch.manual_seed(0)
    enc = E.make("gaussian", obs_dim=obs_dim, latent_dim=action_dim)
    dec = D.make("identity", obs_dim=obs_dim, action_dim=action_dim)
    return CompositePolicy(enc, dec, low, high)


def test_writes_every_key_with_the_right_shapes():
    td = _policy()(TensorDict({"observation": torch.randn(7, 5)}, [7]))
    for key, shape in [
        ("latent", (7, 3)),
        ("latent_log_prob", (7,)),
        ("raw_action", (7, 3)),
        ("action", (7, 3)),
    ]:
        assert tuple(td[key].shape) == shape, key
    # identity decoder: the raw action is z itself, the action is its squash
    torch.testing.assert_close(td["raw_action"], td["latent"])
    torch.testing.assert_close(td["action"], torch.tanh(td["latent"]))


def test_actions_stay_inside_custom_bounds():
    low, high = torch.tensor([0.0, -2.0, 5.0]), torch.tensor([1.0, 2.0, 6.0])
    policy = _policy(low=low, high=high)
    with torch.no_grad():
        policy.encoder.loc_scale.net[-1].bias[3:].fill_(3.0)  # wide latents reach the bounds
        a = policy(TensorDict({"observation": torch.randn(500, 5)}, [500]))["action"]
    assert bool(((a >= low) & (a <= high)).all())


def test_deterministic_mode_uses_the_encoder_mean():
    policy = _policy()
    with torch.no_grad():
        for p in policy.encoder.parameters():
            p.add_(0.3 * torch.randn_like(p))
    obs = torch.randn(4, 5)
    with set_exploration_type(ExplorationType.DETERMINISTIC):
        td = policy(TensorDict({"observation": obs}, [4]))
    torch.testing.assert_close(td["latent"], policy.encoder.mode(obs))


def test_mismatched_parts_are_rejected():
    enc = E.make("gaussian", obs_dim=5, latent_dim=3)
    with pytest.raises(ValueError, match="latent_dim"):
        CompositePolicy(enc, D.make("identity", obs_dim=5, action_dim=2))
    with pytest.raises(ValueError, match="obs_dim"):
        CompositePolicy(enc, D.make("identity", obs_dim=4, action_dim=3))
    with pytest.raises(TypeError, match="GenerativeDecoder"):
        CompositePolicy(enc, torch.nn.Linear(3, 3))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="action_low"):
        CompositePolicy(enc, D.make("identity", obs_dim=5, action_dim=3), 1.0, -1.0)


def test_with_decoder_shares_the_encoder():
    policy = _policy()
    other = policy.with_decoder(D.make("identity", obs_dim=5, action_dim=3))
    assert other.encoder is policy.encoder and other.decoder is not policy.decoder


def test_runs_in_a_torchrl_collector_and_one_clip_ppo_update_trains_the_encoder():
    from torchrl.collectors import Collector
    from torchrl.envs import CatTensors, DMControlEnv, DoubleToFloat, TransformedEnv
    from torchrl.modules import ValueOperator
    from torchrl.objectives import ClipPPOLoss
    from torchrl.objectives.value import GAE

    torch.manual_seed(0)
    base = DMControlEnv("cheetah", "run")
    env = TransformedEnv(
        base, CatTensors(in_keys=["position", "velocity"], out_key="observation", del_keys=False)
    )
    env.append_transform(DoubleToFloat(in_keys=["observation"]))
    env.set_seed(0)
    enc = E.make("gaussian", obs_dim=17, latent_dim=6)
    dec = D.make("identity", obs_dim=17, action_dim=6)
    policy = CompositePolicy(enc, dec)
    collector = Collector(env, policy, frames_per_batch=32, total_frames=32)
    batch = next(iter(collector))
    collector.shutdown()
    assert batch["latent"].shape == (32, 6) and batch["action"].shape == (32, 6)
    assert bool((batch["action"].abs() <= 1).all())

    critic = ValueOperator(
        torch.nn.Sequential(torch.nn.Linear(17, 16), torch.nn.SiLU(), torch.nn.Linear(16, 1)),
        in_keys=["observation"],
    )
    GAE(gamma=0.99, lmbda=0.95, value_network=critic)(batch)
    loss = ClipPPOLoss(enc.actor, critic, clip_epsilon=0.2, entropy_coeff=0.01)
    before = [p.detach().clone() for p in enc.parameters()]
    out = loss(batch)
    # the ratio is over latents: at the data's own policy it is exactly 1 (no clipping yet)
    assert out["clip_fraction"].item() == 0.0
    total = out["loss_objective"] + out["loss_critic"] + out["loss_entropy"]
    opt = torch.optim.Adam(list(enc.parameters()) + list(critic.parameters()), lr=1e-3)
    opt.zero_grad()
    total.backward()
    opt.step()
    assert any(not torch.equal(b, p) for b, p in zip(before, enc.parameters(), strict=True))


def test_act_is_forward_on_plain_tensors():
    import gorl.decoders as decoders
    import gorl.encoders as encoders
    from gorl.interfaces.latent_policy import gaussian_entropy, gaussian_log_prob

    torch.manual_seed(0)
    enc = encoders.make("gaussian", obs_dim=5, latent_dim=3)
    with torch.no_grad():
        for p in enc.parameters():
            p.add_(0.3 * torch.randn_like(p))
    policy = CompositePolicy(enc, decoders.make("flow", obs_dim=5, action_dim=3), -2.0, 1.0)
    obs = torch.randn(4, 5)
    out = policy.act(obs)
    dist = enc.distribution(obs)
    torch.testing.assert_close(out["log_prob"], dist.log_prob(out["latent"]))
    torch.testing.assert_close(gaussian_entropy(enc.loc_scale(obs)[1]), dist.entropy())
    torch.testing.assert_close(out["raw_action"], policy.decoder.decode(obs, out["latent"]))
    assert bool((out["action"] >= -2.0).all() and (out["action"] <= 1.0).all())
    det = policy.act(obs, deterministic=True)
    torch.testing.assert_close(det["latent"], enc.mode(obs))
    # by hand, 1-D: log N(0.5; 0, 2^2) = -0.5 * 0.0625 - log 2 - 0.5 log(2 pi)
    lp = gaussian_log_prob(torch.tensor([0.5]), torch.tensor([0.0]), torch.tensor([2.0]))
    assert abs(lp.item() - (-0.03125 - 0.693147 - 0.918939)) < 1e-5


def test_the_decoder_reads_its_mapped_observations_everywhere():
    from torch import nn

    class Shift(nn.Module):
        def forward(self, obs):
            return obs + 1.0

    torch.manual_seed(0)
    enc = E.make("gaussian", obs_dim=5, latent_dim=3)
    dec = D.make("flow", obs_dim=5, action_dim=3)
    plain = CompositePolicy(enc, dec)
    mapped = plain.with_decoder(dec, decoder_obs=Shift())
    assert plain.decoder_obs is None and isinstance(mapped.decoder_obs, Shift)
    obs, z = torch.randn(4, 5), torch.randn(4, 3)
    torch.testing.assert_close(mapped.decode(obs, z), dec.decode(obs + 1.0, z))
    torch.testing.assert_close(plain.decode(obs, z), dec.decode(obs, z))
    torch.manual_seed(1)
    out = mapped.act(obs)
    torch.testing.assert_close(out["raw_action"], dec.decode(obs + 1.0, out["latent"]))
    td = mapped(TensorDict({"observation": obs}, [4]))  # the TensorDict path too
    torch.testing.assert_close(td["raw_action"], dec.decode(obs + 1.0, td["latent"]))
    assert mapped.with_decoder(dec).decoder_obs is None  # a map belongs to its decoder, not the encoder
