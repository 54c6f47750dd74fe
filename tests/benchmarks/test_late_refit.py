"""benchmarks/late_refit.py ``--kept``: the refit a GoRL run made at a kept checkpoint, made again with
the run's own fit, is the run's own refit (the same fidelity record), and another fit changes it."""

import json

from gorl.train_config import resolve


def test_a_kept_checkpoints_refit_with_the_runs_fit_reproduces_the_runs_record(load_script, kept_sac_run):
    script = load_script("late_refit")
    run, second, cfg = kept_sac_run
    refits = [
        r for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if r["kind"] == "refit"
    ]
    own = next(r for r in refits if r["stage"] == 2)
    fit = resolve(cfg).schedule.fit
    same = f"{fit.steps}:{fit.lr}:{fit.lr_schedule}"
    again = script.late_refit(run, same, kept=second)
    assert again["stage"] == 2
    for key in ("fidelity_mean_error", "fidelity_spread_ratio", "fit_best_val_loss"):
        assert again[key] == own[key], key
    other = script.late_refit(run, f"{2 * fit.steps}:{fit.lr}:{fit.lr_schedule}", kept=second)
    assert other["fit_best_val_loss"] != own["fit_best_val_loss"]
