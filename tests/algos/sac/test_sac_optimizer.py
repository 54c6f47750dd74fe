"""SACLatentOptimizer on a tiny cheetah-run: updates, refits, bootstrapping, resume bit for bit."""

import copy
import math

import pytest
import torch
from pydantic import ValidationError

import gorl.decoders as decoders
import gorl.encoders as encoders
from gorl.algos.sac import SACConfig, SACLatentOptimizer
from gorl.algos.sac.losses import Batch
from gorl.algos.sac.networks import DecodeSquash, LatentSample
from gorl.composite import CompositePolicy
from gorl.envs import make_env
from gorl.testing.tiny import TINY_SAC_OPTIMIZER

# 2 envs x 20 batched steps per iteration; updates start after 24 transitions
TINY = TINY_SAC_OPTIMIZER


def build(decoder="flow", seed=0, **overrides):
    torch.manual_seed(seed)
    config = SACConfig(**{**TINY, **overrides})
    env = make_env("cheetah-run", config.num_envs, seed=seed, episode_length=50)
    encoder = encoders.make("gaussian", obs_dim=env.obs_dim, latent_dim=env.action_dim, hidden=[16, 16])
    dec = decoders.make(decoder, obs_dim=env.obs_dim, action_dim=env.action_dim)
    policy = CompositePolicy(encoder, dec, env.action_low, env.action_high)
    return env, policy, SACLatentOptimizer(env, policy, config)


def new_flow(env, seed):
    torch.manual_seed(seed)
    return decoders.make("flow", obs_dim=env.obs_dim, action_dim=env.action_dim, hidden=[16, 16])


def clone_params(module):
    return [p.detach().clone() for p in module.parameters()]


def critic_state(opt):
    """Critic and target weights and log alpha by name: ``critic.0`` is the first layer's weight."""
    state = opt.state_dict()["critic"]
    out = {f"{part}.{i}": v for part in ("critic", "target") for i, v in enumerate(state[part])}
    return out | {"log_alpha": state["log_alpha"]}


@pytest.mark.parametrize("critic_input", ["latent", "action"])
def test_iterate_trains_the_encoder_only(critic_input):
    _, policy, opt = build(critic_input=critic_input)
    enc0, dec0, q0 = clone_params(policy.encoder), clone_params(policy.decoder), critic_state(opt)
    m1 = opt.iterate()
    assert (
        opt.env_steps == 40 and m1["env_steps"] == 40.0 and m1["updates"] == 18.0
    )  # from the 12th of 20 steps
    m2 = opt.iterate()
    assert opt.env_steps == 80 and m2["updates"] == 58.0 and m2["buffer_size"] == 80.0
    for m in (m1, m2):
        assert all(isinstance(v, float) and math.isfinite(v) for v in m.values()), m
    assert {"loss_actor", "loss_qvalue", "loss_alpha", "alpha", "entropy", "q_policy"} <= set(m2)
    assert not all(torch.equal(a, b) for a, b in zip(enc0, clone_params(policy.encoder), strict=True))
    assert all(torch.equal(a, b) for a, b in zip(dec0, clone_params(policy.decoder), strict=True))
    assert all(p.grad is None for p in policy.decoder.parameters())
    q1 = critic_state(opt)
    assert not torch.equal(q0["critic.0"], q1["critic.0"]) and not torch.equal(q0["target.0"], q1["target.0"])


def test_decoder_data_is_fresh_and_unclipped():
    # the refit is the one place raw actions are clipped (ScheduleConfig.raw_action_clip)
    env, _, opt = build()
    opt.iterate()
    steps, stored = opt.env_steps, len(opt.buffer)
    obs, act = opt.decoder_data(25)
    assert obs.shape == (25, env.obs_dim) and act.shape == (25, env.action_dim)
    assert torch.isfinite(act).all() and torch.isfinite(obs).all()
    assert opt.env_steps == steps and len(opt.buffer) == stored  # not training data


def test_bind_rejects_fixed_fields_and_bad_values():
    _, policy, opt = build()
    for field in ("num_envs", "critic_input", "buffer_size"):
        with pytest.raises(ValueError, match=field):
            opt.bind(policy, {field: SACConfig.model_fields[field].default})
    with pytest.raises(ValidationError, match="gamma"):
        opt.bind(policy, {"gamma": 2.0})
    opt.bind(policy, {"gamma": 0.9, "critic_lr": 1e-3}, stage_end=1000)
    assert opt.config.gamma == 0.9 and opt.critic_optim.param_groups[0]["lr"] == 1e-3
    assert opt.state_dict()["overrides"] == {"gamma": 0.9, "critic_lr": 1e-3}


def test_the_entropy_targets_alpha_drives_toward():
    # kl: the mean score (a KL estimate) toward target_kl (default latent_dim); entropy: toward
    # -target_entropy, whose 'prior' is the entropy of N(0, I) in latent_dim dimensions
    _, policy, opt = build()
    d = policy.encoder.latent_dim
    assert opt.target_entropy == -d
    opt.bind(policy, {"target_kl": 2.5})
    assert opt.target_entropy == -2.5
    opt.bind(policy, {"regularizer": "entropy"})
    assert opt.target_entropy == -d
    opt.bind(policy, {"regularizer": "entropy", "target_entropy": "prior"})
    assert opt.target_entropy == pytest.approx(d * 0.5 * math.log(2 * math.pi * math.e))
    opt.bind(policy, {"regularizer": "entropy", "target_entropy": 1.5})
    assert opt.target_entropy == 1.5


def test_truncation_is_stored_as_done_not_terminated():
    _, _, opt = build(steps_per_iteration=120)  # 60 steps per env: one time limit at 50
    opt.iterate()
    data = {k: v[: len(opt.buffer)] for k, v in opt.buffer.data.items()}
    assert int(data["done"].sum()) == 2 and not data["terminated"].any()
    last = data["done"].nonzero().squeeze(-1)
    # the stored next observation is the episode's last one, not the reset observation after it
    assert not torch.equal(data["next_obs"][last], data["obs"][last + 2])


def test_bootstrap_through_truncation_not_termination():
    """Q = c everywhere and alpha ~ 0: the target is r + gamma * (1 - terminated) * c, by hand."""
    env, _, opt = build(critic_input="latent", gamma=0.9, loss_function="l2")
    c = 3.0
    with torch.no_grad():
        for critic in (opt.critic, opt.critic_target):
            for p in critic.parameters():
                p.zero_()
            critic.layers()[-1][1].fill_(c)  # the last layer's bias: Q = c everywhere
        opt.log_alpha.fill_(-30.0)
    # the rollout stores (terminated, truncated, running) as terminated (1, 0, 0): truncation is done only
    batch = Batch(
        obs=torch.randn(3, env.obs_dim),
        x=torch.randn(3, env.action_dim),
        reward=torch.tensor([1.0, 2.0, 0.5]),
        next_obs=torch.randn(3, env.obs_dim),
        terminated=torch.tensor([1.0, 0.0, 0.0]),
    )
    targets = torch.tensor([1.0, 2.0 + 0.9 * c, 0.5 + 0.9 * c])  # terminated, truncated, running
    expected = 2 * ((c - targets) ** 2).mean()  # two critics, squared error, batch mean
    assert float(opt.losses(batch).loss_qvalue.detach()) == pytest.approx(float(expected), rel=1e-5)


@pytest.mark.parametrize("kind", ["flow", "diffusion"])
def test_action_critic_gradient_reaches_the_encoder_through_the_frozen_decoder(kind):
    env, policy, opt = build(decoder=kind, critic_input="action")
    opt.iterate()
    batch = opt.batches(1)[0]
    for p in policy.encoder.parameters():
        p.grad = None
    opt.losses(batch).loss_actor.backward()
    head = policy.encoder.loc_scale.net[-1]
    assert head.weight.grad is not None and head.weight.grad[: env.action_dim].abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in policy.decoder.parameters())


def test_latent_sample_scores():
    loc, scale, obs = torch.zeros(4, 3), torch.ones(4, 3), torch.zeros(4, 5)
    z, kl = LatentSample(loc, scale, obs, relative_to_prior=True).rsample_and_log_prob()
    assert z.shape == (4, 3) and torch.equal(kl, torch.zeros(4))  # at the prior the KL sample is 0
    loc, scale = torch.randn(4, 3), torch.rand(4, 3) + 0.1
    z, logp = LatentSample(loc, scale, obs).rsample_and_log_prob()
    ref = torch.distributions.Normal(loc, scale).log_prob(z).sum(-1)
    assert torch.allclose(logp, ref, atol=1e-5)
    identity = decoders.make("identity", obs_dim=5, action_dim=3)
    low, high = -torch.ones(3), torch.ones(3)
    torch.manual_seed(0)
    a, _ = LatentSample(loc, scale, obs, DecodeSquash(identity.decode, low, high)).rsample_and_log_prob()
    torch.manual_seed(0)
    assert torch.allclose(a, torch.tanh(LatentSample(loc, scale, obs).rsample()), atol=1e-6)


def test_refit_resets_a_latent_critic_and_keeps_an_action_critic():
    # latent critic: a new decoder invalidates Q(s, z) and the stored z
    env, policy, opt = build(critic_input="latent")
    opt.iterate()
    q0 = critic_state(opt)
    opt.bind(policy)  # same decoder: a new stage, not a refit
    assert len(opt.buffer) == 40 and opt.critic_resets == 0
    assert all(torch.equal(v, critic_state(opt)[k]) for k, v in q0.items())
    refitted = policy.with_decoder(new_flow(env, 1))
    opt.bind(refitted, new_decoder=True)  # the schedule's word that the decoder was refitted
    assert len(opt.buffer) == 0 and opt.critic_resets == 1
    q1 = critic_state(opt)
    assert not torch.equal(q0["critic.0"], q1["critic.0"])
    assert torch.equal(q1["critic.0"], q1["target.0"]) and float(q1["log_alpha"].exp()) == pytest.approx(0.1)
    m = opt.iterate()  # warms up again from an empty buffer: 18 updates
    assert m["updates"] == 18 + 18 and m["buffer_size"] == 40.0
    # only the schedule's flag says refit: a re-bind with another decoder and no flag keeps the critic
    q2 = critic_state(opt)
    opt.bind(refitted.with_decoder(new_flow(env, 3)))
    assert len(opt.buffer) == 40 and opt.critic_resets == 1
    assert all(torch.equal(v, critic_state(opt)[k]) for k, v in q2.items())
    # latent critic, latent_refit="keep": left as it is
    opt.bind(refitted.with_decoder(new_flow(env, 2)), {"latent_refit": "keep"}, new_decoder=True)
    assert len(opt.buffer) == 40 and opt.critic_resets == 1
    # action critic: Q(s, a) survives; so do buffer, targets, alpha and the critic's Adam state
    env, policy, opt = build(critic_input="action")
    opt.iterate()
    q0, adam0 = critic_state(opt), copy.deepcopy(opt.critic_optim.state_dict())
    opt.bind(policy.with_decoder(new_flow(env, 1)), new_decoder=True)
    assert len(opt.buffer) == 40 and opt.critic_resets == 0
    assert all(torch.equal(v, critic_state(opt)[k]) for k, v in q0.items())
    adam1 = opt.critic_optim.state_dict()
    assert all(
        torch.equal(adam0["state"][i]["exp_avg"], adam1["state"][i]["exp_avg"]) for i in adam0["state"]
    )


@pytest.mark.parametrize(
    "critic_input, regularizer", [("latent", "kl"), ("action", "kl"), ("action", "decoded_entropy")]
)
def test_resume_is_bit_for_bit(critic_input, regularizer):
    """k iterations, snapshot, m more == a fresh optimiser loaded from the snapshot, m iterations
    (decoded_entropy: the decoder's log-Jacobian measured at the refit comes from the snapshot, not from
    the empty buffer the fresh optimiser binds with)."""
    overrides = {
        "critic_input": critic_input,
        "normalize_observations": True,
        "utd_ratio": 0.75,
        "regularizer": regularizer,
    }
    env, policy, opt = build(**overrides)
    opt.iterate()
    policy = policy.with_decoder(new_flow(env, 5))  # a refit inside the first k iterations
    opt.bind(policy, {"gamma": 0.95}, new_decoder=True)
    opt.iterate()
    snapshot = copy.deepcopy(opt.state_dict())
    enc, dec, rng = (
        copy.deepcopy(policy.encoder.state_dict()),
        policy.decoder.state_dict(),
        torch.get_rng_state(),
    )
    ref = [opt.iterate() for _ in range(2)]

    env2, policy2, opt2 = build(seed=1, **overrides)  # every number must come from the snapshot
    policy2 = policy2.with_decoder(new_flow(env2, 6))
    policy2.encoder.load_state_dict(enc)
    policy2.decoder.load_state_dict(dec)
    opt2.bind(policy2)
    opt2.load_state_dict(snapshot)
    torch.set_rng_state(rng)
    assert opt2.env_steps == 80 and opt2.config.gamma == 0.95
    assert [opt2.iterate() for _ in range(2)] == ref
    for a, b in zip(clone_params(policy.encoder), clone_params(policy2.encoder), strict=True):
        assert torch.equal(a, b)
    s1, s2 = critic_state(opt), critic_state(opt2)
    assert s1.keys() == s2.keys() and all(torch.equal(s1[k], s2[k]) for k in s1)
    for o1, o2 in ((opt.critic_optim, opt2.critic_optim), (opt.actor_optim, opt2.actor_optim)):
        st1, st2 = o1.state_dict()["state"], o2.state_dict()["state"]
        assert all(torch.equal(st1[i]["exp_avg_sq"], st2[i]["exp_avg_sq"]) for i in st1)
    n = len(opt.buffer)  # the latent critic's refit emptied the buffer after the first 40 steps
    assert n == len(opt2.buffer) == (120 if critic_input == "latent" else 160)
    assert all(torch.equal(v[:n], opt2.buffer.data[k][:n]) for k, v in opt.buffer.data.items())
    assert opt.buffer.cursor == opt2.buffer.cursor


def test_update_is_one_gradient_step_and_needs_a_warm_buffer():
    _, policy, opt = build(decoder="identity")
    with pytest.raises(ValueError, match=r"batch_size=16 .* holds 0"):
        opt.update()
    opt.iterate()
    updates, enc0 = opt.updates, clone_params(policy.encoder)
    stats = opt.update()
    assert opt.updates == updates + 1 and opt.env_steps == 40  # no env step
    assert {"loss_actor", "loss_qvalue", "loss_alpha", "alpha"} <= set(stats)
    assert all(math.isfinite(v) for v in stats.values())
    assert any(not torch.equal(a, b) for a, b in zip(enc0, policy.encoder.parameters(), strict=True))


def test_prior_encoder_without_parameters_trains_the_critic():
    """The parameter-free prior encoder (FPO's): the device comes from the policy, no encoder Adam."""
    torch.manual_seed(0)
    config = SACConfig(**TINY)
    env = make_env("cheetah-run", 2, seed=0, episode_length=50)
    encoder = encoders.make("prior", obs_dim=env.obs_dim, latent_dim=env.action_dim)
    policy = CompositePolicy(encoder, new_flow(env, 0), env.action_low, env.action_high)
    opt = SACLatentOptimizer(env, policy, config)
    q0 = critic_state(opt)
    m = opt.iterate()
    assert opt.actor_optim is None and m["updates"] == 18.0 and math.isfinite(m["loss_qvalue"])
    assert not torch.equal(q0["critic.0"], critic_state(opt)["critic.0"])


def test_minibatches_drawn_in_one_call_are_independent_and_each_a_step():
    _, _, opt = build(decoder="identity")
    opt.iterate()
    a, b = opt.batches(2)
    assert a.obs.shape == (16, opt.env.obs_dim) and not torch.equal(a.obs, b.obs)
    updates = opt.updates
    opt.update(minibatches=3)
    assert opt.updates == updates + 3


def test_replay_wraps_around_fifo():
    from gorl.algos.sac.replay import Replay

    buf = Replay(5, torch.device("cpu"))
    for start in (0, 3, 6):  # 3 + 3 + 3 transitions into 5 slots: the first 4 are overwritten
        buf.extend({"obs": torch.arange(start, start + 3.0).unsqueeze(-1)})
    assert len(buf) == 5 and buf.cursor == 4
    assert sorted(buf.data["obs"].squeeze(-1).tolist()) == [4.0, 5.0, 6.0, 7.0, 8.0]
    sample = buf.sample(2, 50, ("obs",))["obs"]
    assert sample.shape == (2, 50, 1) and set(sample.flatten().tolist()) <= {4.0, 5.0, 6.0, 7.0, 8.0}
    state = buf.state_dict()
    other = Replay(5, torch.device("cpu"))
    other.load_state_dict(state)
    assert torch.equal(other.data["obs"], buf.data["obs"]) and other.cursor == 4 and len(other) == 5


def test_n_envs_make_n_times_utd_updates_per_batched_step_each_from_one_draw():
    """4 envs, utd 0.75: 3 updates after every batched step once 32 transitions are stored (after the
    8th of 10 steps: 3 steps x 3 updates), their minibatches drawn by one sample() call per step."""
    _, _, opt = build(decoder="identity", num_envs=4, utd_ratio=0.75, batch_size=32, warmup_steps=32)
    calls: list[tuple[int, int]] = []
    sample = opt.buffer.sample

    def counted(k, batch_size, fields):
        calls.append((k, batch_size))
        return sample(k, batch_size, fields)

    opt.buffer.sample = counted  # type: ignore[method-assign]
    m = opt.iterate()
    assert m["updates"] == 9.0 and calls == [(3, 32)] * 3


def test_a_state_saved_by_the_sacloss_optimiser_loads():
    """The layout before the plain-tensor update: critics under SACLoss's own names (taken here from a
    real SACLoss, gorl.algos.sac.reference), the buffer as a TensorDict with ("next", ...) keys and
    (n, 1) rewards and flags, TorchRL's writer cursor."""
    from gorl.algos.sac.reference import torchrl_sac_loss

    _, policy, opt = build(critic_input="action", critic_layer_norm=True)
    opt.iterate()
    new = opt.state_dict()
    ref = torchrl_sac_loss(opt)
    with torch.no_grad():  # the reference holds the same weights; make the target differ from the critic
        ref.target_qvalue_network_params.apply_(lambda t: t.mul_(0.5))
    loss_state = {
        k: v.clone()
        for k, v in ref.state_dict().items()
        if k.startswith(("qvalue_network_params.", "target_qvalue_network_params.")) or k == "log_alpha"
    }
    d, n = new["buffer"]["data"], new["buffer"]["size"]
    old_buffer = {
        "data": {
            "observation": d["obs"],
            "latent": d["latent"],
            "action": d["action"],
            "next": {
                "observation": d["next_obs"],
                **{k: d[k].reshape(n, 1) for k in ("reward", "done", "terminated")},
            },
        },
        "size": n,
        "writer": {"_cursor": new["buffer"]["cursor"], "_write_count": n},
    }
    old_critic = {
        "loss": loss_state,
        **{k: new["critic"][k] for k in ("critic_optim", "alpha_optim", "actor_optim")},
    }
    old = {**new, "critic": old_critic, "buffer": old_buffer}
    _, _, opt2 = build(critic_input="action", critic_layer_norm=True, seed=3)
    opt2.policy.encoder.load_state_dict(policy.encoder.state_dict())
    opt2.load_state_dict(old)
    got = critic_state(opt2)
    assert all(torch.equal(got[f"critic.{i}"], v) for i, v in enumerate(new["critic"]["critic"]))
    assert all(torch.equal(got[f"target.{i}"], 0.5 * v) for i, v in enumerate(new["critic"]["target"]))
    assert all(torch.equal(v[:n], opt2.buffer.data[k][:n]) for k, v in opt.buffer.data.items())
    assert opt2.buffer.cursor == opt.buffer.cursor and opt2.updates == opt.updates


class _LinearDecoderPolicy:
    """What ``decoder_log_det`` reads of a policy: ``encoder.latent_dim`` and ``decode(obs, z) = z A^T +
    obs[:, :d]`` (log |det du/dz| = log |det A| at every state and latent)."""

    def __init__(self, a):
        self.a = a
        self.encoder = type("E", (), {"latent_dim": a.shape[1]})()

    def decode(self, obs, z):
        return z @ self.a.T + obs[:, : self.a.shape[0]]


def test_decoder_log_det_of_a_linear_decoder_by_hand():
    from gorl.algos.sac.optimizer import decoder_log_det

    a = torch.tensor([[2.0, 0.5, 0.0], [0.0, 0.25, 0.0], [1.0, 0.0, -3.0]])  # det = 2 * 0.25 * -3 = -1.5
    obs = torch.randn(7, 5)
    got = decoder_log_det(_LinearDecoderPolicy(a), obs, torch.randn(7, 3))
    assert got == pytest.approx(math.log(1.5), abs=1e-6)
    with pytest.raises(ValueError, match=r"latent_dim == action_dim.*3 latent dims to 2"):
        decoder_log_det(_LinearDecoderPolicy(a[:2]), obs, torch.randn(7, 3))


def test_decoded_entropy_through_the_identity_is_action_entropy_to_the_last_digit():
    # the identity's log-Jacobian is 0 and u = z: the same scores, updates and alpha as tanh-Gaussian SAC
    runs = []
    for regularizer in ("action_entropy", "decoded_entropy"):
        _, policy, opt = build("identity", regularizer=regularizer)
        metrics = [opt.iterate() for _ in range(2)]
        if regularizer == "decoded_entropy":  # logged with this regulariser only: the identity's 0
            assert [m.pop("decoder_log_det") for m in metrics] == [0.0, 0.0]
        runs.append((metrics, clone_params(policy.encoder), critic_state(opt)))
        assert opt.target_entropy == -policy.encoder.latent_dim
    (m0, enc0, q0), (m1, enc1, q1) = runs
    assert m0 == m1
    assert all(torch.equal(a, b) for a, b in zip(enc0, enc1, strict=True))
    assert all(torch.equal(q0[k], q1[k]) for k in q0)


def test_decoded_entropy_scores_the_squashed_action_through_a_fitted_decoder():
    env, policy, opt = build("identity", regularizer="decoded_entropy")
    opt.iterate()
    assert opt._decoder_log_det == 0.0  # the identity's
    policy = policy.with_decoder(new_flow(env, 1))
    opt.bind(policy, new_decoder=True)  # measured on the buffer's states at the bind
    c = opt._decoder_log_det
    obs = opt.normalize(opt.buffer.data["obs"][: len(opt.buffer)])
    # the mean log |det| at the encoder's own draws, by an independent route: torch's full Jacobian,
    # state by state
    gen = torch.Generator().manual_seed(opt.updates)
    with torch.no_grad():
        loc, scale = policy.encoder.loc_scale(obs)
        z = loc + scale * torch.randn(loc.shape, generator=gen)
    logdets = [
        torch.linalg.slogdet(
            torch.autograd.functional.jacobian(lambda v, o=o: policy.decode(o[None], v[None])[0], v)
        ).logabsdet
        for o, v in zip(obs, z, strict=True)
    ]
    assert c == pytest.approx(float(torch.stack(logdets).mean()), abs=1e-4)
    assert abs(c) > 0.01  # a flow with weights is not volume-preserving: not the identity's 0
    # the draw's score: log N(z; loc, scale) - c - sum log |d squash / du| at u = decode(s, z)
    torch.manual_seed(3)
    d = opt.draw(obs[:5])
    torch.manual_seed(3)
    loc, scale = policy.encoder.loc_scale(obs[:5])
    eps = torch.randn_like(loc)
    zz = loc + scale * eps
    u = policy.decode(obs[:5], zz)
    lo, hi = policy.action_low, policy.action_high
    log_n = (-0.5 * eps.pow(2) - scale.log() - 0.5 * math.log(2 * math.pi)).sum(-1)
    dsquash = (1 - torch.tanh(u).pow(2)) * (hi - lo) / 2
    assert torch.allclose(d.score, log_n - c - dsquash.log().sum(-1), atol=1e-4)
    assert torch.allclose(d.x, lo + (torch.tanh(u) + 1) / 2 * (hi - lo), atol=1e-6)
    # every iteration measures c again, at the encoder's draws as they are then
    for p in policy.encoder.parameters():
        p.data.mul_(1.5)  # an encoder elsewhere: wider, its mean moved
    with torch.no_grad():
        loc, scale = policy.encoder.loc_scale(obs[-1024:])
        z = loc + scale * torch.randn(loc.shape, generator=torch.Generator().manual_seed(opt.updates))
    from gorl.algos.sac.optimizer import decoder_log_det

    expected = decoder_log_det(policy, obs[-1024:], z)
    m = opt.iterate()
    assert m["decoder_log_det"] == pytest.approx(expected, abs=1e-9)
    assert expected != pytest.approx(c, abs=1e-5)  # measured again, not the bind's value kept
    assert math.isfinite(m["entropy"]) and math.isfinite(m["loss_actor"])
