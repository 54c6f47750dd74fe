"""Decoder snapshots (``gorl.decoders.snapshot``): they round-trip a decoder exactly, a file that is not
one or of another format fails; a run's refits write them and a later run starts from one with the
decoder frozen."""

import copy

import pytest
import torch

import gorl.decoders as decoders
from gorl.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from gorl.decoders import snapshot
from gorl.testing.tiny import tiny_run
from gorl.train import Trainer
from gorl.train_config import TrainConfig


def test_a_snapshot_rebuilds_its_decoder_bit_for_bit(tmp_path):
    torch.manual_seed(0)
    options = {"hidden": [32, 32]}
    decoder = decoders.make("flow", obs_dim=5, action_dim=3, **options)
    path = tmp_path / "stage1.pt"
    snapshot.write(path, decoder, "flow", options, task="t", stage=1)
    options["hidden"].append(64)  # the snapshot holds a copy of the options, not the caller's dict
    snap = snapshot.read(path)
    assert (snap["name"], snap["options"], snap["task"], snap["stage"]) == (
        "flow",
        {"hidden": [32, 32]},
        "t",
        1,
    )
    rebuilt = snapshot.build(snap)
    s, z = torch.randn(4, 5), torch.randn(4, 3)
    assert torch.equal(decoder.decode(s, z), rebuilt.decode(s, z))  # deterministic Euler decode


def test_a_file_that_is_not_a_snapshot_or_of_another_format_is_named(tmp_path):
    other = tmp_path / "checkpoint.pt"
    save_checkpoint(other, {"format": 2})
    with pytest.raises(CheckpointError, match="not a decoder snapshot"):
        snapshot.read(other)
    decoder = decoders.make("flow", obs_dim=2, action_dim=1)
    path = tmp_path / "stage1.pt"
    snapshot.write(path, decoder, "flow", {})
    save_checkpoint(path, {**load_checkpoint(path), "format": 99})
    with pytest.raises(CheckpointError, match="format 99"):
        snapshot.read(path)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        snapshot.read(tmp_path / "missing.pt")


# 4 envs x 20 steps (two GAE segments of 10) = 80 env steps per iteration; 4 stages over 640 steps.
TINY = tiny_run()

# the decoder-stage study's run: GoRL(FM)'s encoder, one stage, the snapshot's flow decoder frozen
FROZEN_SCHEDULE = {
    "stage_fractions": [1.0],
    "decoder": None,
    "stage_overrides": [{"penalty_coef": 1.0e-3}],
    "initial_decoder": "flow",
}


def frozen(path, **changes):
    """TINY as a 320-step run from the snapshot at ``path`` (4 iterations, evaluations at 160 and 320)."""
    schedule = {**FROZEN_SCHEDULE, "initial_decoder_from": str(path)}
    cfg = {**TINY, "total_steps": 320, "eval_every": 160, "plot": False, "schedule": schedule}
    return TrainConfig(**{**cfg, **changes})


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A finished TINY gorl-fm run (4 stages, 3 refits)."""
    out = tmp_path_factory.mktemp("source")
    Trainer(TrainConfig(**TINY, plot=False), out).run()
    return out


def test_every_refit_writes_its_decoder(source):
    assert sorted(p.name for p in (source / "decoders").iterdir()) == ["stage1.pt", "stage2.pt", "stage3.pt"]
    snaps = {k: snapshot.read(source / "decoders" / f"stage{k}.pt") for k in (1, 2, 3)}
    for k, snap in snaps.items():
        assert snap["name"] == "flow" and snap["options"] == {"hidden": [16, 16]} and snap["stage"] == k
        assert (snap["obs_dim"], snap["action_dim"], snap["latent_dim"]) == (17, 6, 6)  # cheetah
        assert (snap["task"], snap["method"], snap["seed"]) == ("cheetah-run", "gorl-fm", 0)
    # stages end at the first 80-step iteration past 1/3, 2/3 and 5/6 of 640 steps
    assert [snaps[k]["env_steps"] for k in (1, 2, 3)] == [240, 480, 560]
    # stage 3's decoder is the one the run ended with (the final checkpoint's)
    final = load_checkpoint(source / "checkpoint.pt")["decoder"]
    assert final.keys() == snaps[3]["state_dict"].keys()
    assert all(torch.equal(final[k], v) for k, v in snaps[3]["state_dict"].items())
    assert not torch.equal(*(next(iter(snaps[k]["state_dict"].values())) for k in (1, 2)))  # fresh fits


def test_a_run_from_a_snapshot_starts_with_its_decoder_and_keeps_it_frozen(
    source, tmp_path, monkeypatch, resume_check, numbers
):
    path = source / "decoders" / "stage2.pt"
    snap = snapshot.read(path)
    saved = snapshot.build(snap)  # before the Trainer, which seeds: building one draws initial weights
    trainer = Trainer(frozen(path), tmp_path / "a")
    gen = torch.Generator().manual_seed(0)
    obs, z = torch.randn(64, 17, generator=gen), torch.randn(64, 6, generator=gen)
    with torch.no_grad():
        assert torch.equal(trainer.policy.decoder.decode(obs, z), saved.decode(obs, z))  # bit for bit
    assert not any(p.requires_grad for p in trainer.policy.decoder.parameters())  # the optimiser's bind
    summary = trainer.run()
    assert summary["env_steps"] == 320
    after = trainer.policy.decoder.state_dict()
    assert all(torch.equal(after[k], v) for k, v in snap["state_dict"].items())  # trained, decoder unchanged
    kinds = [r["kind"] for r in numbers(tmp_path / "a")]
    assert kinds.count("iteration") == 4 and kinds.count("eval") == 2 and "refit" not in kinds
    assert not (tmp_path / "a" / "decoders").exists()  # it fits no decoder
    # killed in its 3rd iteration and resumed: the same numbers
    resumed = resume_check(frozen(path), tmp_path / "b", monkeypatch, kill_at="iteration", nth=3)
    assert resumed["final_return"] == summary["final_return"]
    assert numbers(tmp_path / "b") == numbers(tmp_path / "a")


def test_a_bad_snapshot_fails_before_any_env_is_built(source, tmp_path, monkeypatch):
    import gorl.train as train_mod

    def no_env(*a, **k):
        raise AssertionError("an env was built before the snapshot was checked")

    monkeypatch.setattr(train_mod, "make_env", no_env)
    with pytest.raises(FileNotFoundError, match=r"schedule\.initial_decoder_from: no decoder snapshot"):
        Trainer(frozen(tmp_path / "none.pt"), tmp_path / "run")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError, match=r"initial_decoder_from: .*corrupt\.pt is unreadable"):
        Trainer(frozen(corrupt), tmp_path / "run")
    with pytest.raises(CheckpointError, match="is not a decoder snapshot"):
        Trainer(frozen(source / "checkpoint.pt"), tmp_path / "run")  # a run's checkpoint, not a decoder
    path = source / "decoders" / "stage1.pt"
    identity = {**FROZEN_SCHEDULE, "initial_decoder": "identity", "initial_decoder_from": str(path)}
    with pytest.raises(ValueError, match=r"schedule\.initial_decoder is 'identity'.*initial_decoder: flow"):
        Trainer(frozen(path, schedule=identity), tmp_path / "run")
    options = {**FROZEN_SCHEDULE, "initial_decoder_from": str(path), "decoder_options": {"hidden": [8]}}
    with pytest.raises(ValueError, match="leave decoder_options empty"):
        Trainer(frozen(path, schedule=options), tmp_path / "run")


def test_a_snapshot_with_the_wrong_shapes_is_named(source, tmp_path):
    snap = copy.deepcopy(snapshot.read(source / "decoders" / "stage1.pt"))
    other = tmp_path / "walker.pt"
    save_checkpoint(other, {**snap, "obs_dim": 24, "task": "walker-walk"})
    with pytest.raises(ValueError, match=r"fitted on walker-walk .*this run's task cheetah-run"):
        Trainer(frozen(other), tmp_path / "run")
    snap["state_dict"] = {k: v[..., :1] for k, v in snap["state_dict"].items()}
    broken = tmp_path / "broken.pt"
    save_checkpoint(broken, snap)
    with pytest.raises(CheckpointError, match=r"broken\.pt does not load"):
        Trainer(frozen(broken), tmp_path / "run")
