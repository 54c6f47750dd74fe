"""benchmarks/branch_run.py: a run branched from a kept checkpoint is the source run up to there, and
runs its changed settings after it; bad input is refused before anything is written."""

import json

import pytest
from pydantic import ValidationError

from gorl.checkpoint import CheckpointError
from gorl.train import Trainer


def test_a_branch_without_changes_continues_as_the_source_run(load_script, kept_sac_run, tmp_path, numbers):
    script = load_script("branch_run")
    run, second, _ = kept_sac_run
    branch = script.branch(run, second, tmp_path / "branch", {})
    assert sorted(p.name for p in (branch / "decoders").iterdir()) == ["stage1.pt"]  # fitted before `second`
    Trainer.resume(branch).run()
    ours = numbers(branch)
    assert [r["kind"] for r in ours].count("refit") == 3
    assert ours == numbers(run)


def test_a_branch_runs_its_changed_settings_after_the_kept_checkpoint(
    load_script, kept_sac_run, tmp_path, numbers
):
    script = load_script("branch_run")
    run, second, cfg = kept_sac_run
    steps = cfg.schedule["fit"]["steps"]
    sets = ["--set", f"schedule.fit.steps={2 * steps}", "--set", "schedule.reinit_decoder=false"]
    assert script.main([str(run), "--kept", str(second), "--to", str(tmp_path / "b"), *sets]) == 0
    saved = json.loads((tmp_path / "b" / "config.json").read_text())
    for section in (saved["schedule"], saved["train"]["schedule"]):
        assert section["fit"]["steps"] == 2 * steps and section["reinit_decoder"] is False
    kept = len(numbers(tmp_path / "b"))  # the source's records up to the kept checkpoint
    Trainer.resume(tmp_path / "b").run()
    ours, theirs = numbers(tmp_path / "b"), numbers(run)
    assert 0 < kept < len(ours) and ours[:kept] == theirs[:kept]
    refit = next(r for r in ours if r["kind"] == "refit" and r["stage"] == 2)
    own = next(r for r in theirs if r["kind"] == "refit" and r["stage"] == 2)
    assert refit["fit_best_val_loss"] != own["fit_best_val_loss"]


def test_a_bad_branch_is_refused_and_writes_nothing(load_script, kept_sac_run, tmp_path):
    script = load_script("branch_run")
    run, second, _ = kept_sac_run
    with pytest.raises(CheckpointError, match=f"no checkpoint at {second + 1}"):
        script.branch(run, second + 1, tmp_path / "a", {})
    with pytest.raises(ValidationError, match="steps"):
        script.branch(run, second, tmp_path / "b", {"schedule": {"fit": {"steps": -5}}})
    with pytest.raises(ValueError, match="keeps the source's encoder, seed"):
        script.branch(run, second, tmp_path / "e", {"seed": 3, "encoder": {"hidden": [8]}})
    with pytest.raises(CheckpointError, match="not a run directory"):
        script.branch(tmp_path, second, tmp_path / "c", {})
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing left behind, not even a temp dir
    (tmp_path / "d").mkdir()
    with pytest.raises(FileExistsError, match="exists"):
        script.branch(run, second, tmp_path / "d", {})
