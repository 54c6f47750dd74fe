"""benchmarks/stage_learning.py on a GoRL(SAC) run's checkpoint kept before its second refit (``--kept``):
the variants make that refit (stage 2, the run's own schedule and the variant's overrides), ``none``
continues without it, and the table pairs each variant with ``none`` (SAC reports no KL: n/a)."""

import json

import pytest

from gorl.checkpoint import CheckpointError
from gorl.train import Trainer


def test_variants_of_a_gorl_sac_runs_later_refit_pair_with_no_refit(tmp_path, load_script, kept_sac_run):
    script = load_script("stage_learning")
    run, second, cfg = kept_sac_run
    out = tmp_path / "screen.md"
    args = [str(run), "--kept", str(second), "--method", "gorl-sac-fm", "--variants", "none", "default"]
    args += ["anchored"]
    assert script.main([*args, "--stage-steps", "40", "--eval-every", "40", "--out", str(out)]) == 0
    recs = {r["variant"]: r for r in map(json.loads, out.with_suffix(".jsonl").read_text().splitlines())}
    assert set(recs) == {"none", "default", "anchored"}
    assert recs["none"]["run"] == f"{run}@{second}"
    assert recs["none"]["refit"] is None and recs["none"]["start"] == recs["anchored"]["start"] >= second
    assert recs["none"]["start"] < cfg.total_steps  # the kept copy, not the run's last checkpoint
    for variant in ("default", "anchored"):
        assert recs[variant]["refit"]["stage"] == 2 and recs[variant]["kl_approx"] is None
        assert len(recs[variant]["returns"]) == 1
    # the two refits fit the same decoder (same data, same seed): only the encoder's reset differs
    assert recs["default"]["refit"]["fit_final_val_loss"] == recs["anchored"]["refit"]["fit_final_val_loss"]
    rows = [r for r in out.read_text().splitlines() if r.startswith(("| default", "| anchored"))]
    assert len(rows) == 2 and all("| n/a / n/a |" in r for r in rows)
    # a rerun skips what is done (a changed record would show in the file)
    before = out.with_suffix(".jsonl").read_text()
    assert script.main([*args, "--stage-steps", "40", "--out", str(out)]) == 0
    assert out.with_suffix(".jsonl").read_text() == before
    with pytest.raises(CheckpointError, match=r"no checkpoint at .*checkpoints/steps-1\.pt"):
        Trainer.load(run, kept=1)


def test_sac_regulariser_variants_pair_with_the_default_refit(tmp_path, load_script, kept_sac_run):
    """``--reference default`` pairs each variant with the default refit on the same run. ``kl4d`` and
    ``ent-prior`` change only the optimiser's settings from stage 1 on (the run's stage 0 kept), and the
    stage after the refit runs under them: a KL near 0 right after the refit (logged as -KL) against the
    latent's entropy near the prior's (d * 1.42 nats) with alpha on the entropy."""
    script = load_script("stage_learning")
    run, second, _ = kept_sac_run
    trainer = Trainer.load(run, kept=second)
    d = trainer.policy.encoder.latent_dim
    stage0 = trainer.schedule.stage_overrides[0]
    assert stage0["regularizer"] == "action_entropy"  # sac's stage 0, which the variants keep
    assert script.overrides_of("kl4d", trainer) == {"stage_overrides": [stage0, {"target_kl": 4.0 * d}]}
    ent = script.overrides_of("ent-prior", trainer)["stage_overrides"][1]
    assert ent["regularizer"] == "entropy" and ent["target_entropy"] == pytest.approx(1.4189385 * d)
    act = script.overrides_of("act-ent", trainer)
    assert act == {"stage_overrides": [stage0, {"regularizer": "decoded_entropy"}]}
    out = tmp_path / "screen.md"
    args = [str(run), "--kept", str(second), "--method", "gorl-sac-fm", "--reference", "default"]
    args += [
        "--variants",
        "kl4d",
        "ent-prior",
        "--stage-steps",
        "40",
        "--eval-every",
        "40",
        "--out",
        str(out),
    ]
    assert script.main(args) == 0
    recs = {r["variant"]: r for r in map(json.loads, out.with_suffix(".jsonl").read_text().splitlines())}
    assert set(recs) == {"default", "kl4d", "ent-prior"}  # no "none" unless asked for
    assert recs["kl4d"]["entropy"] < 0.5 < 1.0 * d < recs["ent-prior"]["entropy"]
    for rec in recs.values():
        assert rec["refit"]["stage"] == 2 and rec["alpha"] > 0
        reach = rec["reach"]
        assert reach["kl_mean_part"] >= 0 and reach["kl_scale_part"] >= 0 and reach["det_move_spreads"] >= 0
    rows = [r for r in out.read_text().splitlines() if r.startswith("| ")]
    assert "default's" in rows[0] and [r.split(" | ")[0] for r in rows[1:]] == ["| kl4d", "| ent-prior"]
