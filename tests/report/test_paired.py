"""The paired section: GoRL minus its baseline's run of the same seed, by hand on a tiny suite."""

import json
from pathlib import Path

import pytest

from gorl.report.figures import plot_paired
from gorl.report.load import load_suite
from gorl.report.paired import baseline_of, paired_curves, paired_md, paired_runs, summarise


def _run(root: Path, task: str, method: str, seed: int, evals: dict[int, float], refit: int | None) -> None:
    path = root / "runs" / task / method / f"s{seed}"
    path.mkdir(parents=True)
    lines = [{"kind": "eval", "env_steps": s, "return_mean": r} for s, r in evals.items()]
    if refit is not None:
        lines.insert(1, {"kind": "refit", "env_steps": refit, "stage": 1})
    (path / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    final = list(evals.values())[-1]
    (path / "summary.json").write_text(json.dumps({"final_return": final}))


def test_baselines_by_name():
    assert baseline_of("gorl-fm") == "ppo" and baseline_of("gorl-sac-diff") == "sac"
    assert baseline_of("ppo") is None and baseline_of("fpo") is None


def test_differences_after_the_first_refit_by_hand(tmp_path):
    # seed 0: identical until the refit at 100; after it gorl is +10 at 200 and +30 at 300 -> after = 20
    _run(tmp_path, "cheetah-run", "ppo", 0, {100: 50.0, 200: 60.0, 300: 70.0}, None)
    _run(tmp_path, "cheetah-run", "gorl-fm", 0, {100: 50.0, 200: 70.0, 300: 100.0}, 100)
    # seed 1: -20 at 200 and -40 at 300 -> after = -30, final = -40
    _run(tmp_path, "cheetah-run", "ppo", 1, {100: 40.0, 200: 80.0, 300: 90.0}, None)
    _run(tmp_path, "cheetah-run", "gorl-fm", 1, {100: 40.0, 200: 60.0, 300: 50.0}, 100)
    suite = load_suite(tmp_path)
    pairs = paired_runs(suite, "gorl-fm", "ppo")
    assert [(p.seed, p.after, p.final, p.first_refit) for p in pairs] == [
        (0, 20.0, 30.0, 100),
        (1, -30.0, -40.0, 100),
    ]
    s = summarise(pairs, "after")
    # two runs: the IQM of (0.02, -0.03) is their mean, -0.005; the worst (only) task's mean is -5
    assert s.n == 2 and s.iqm == pytest.approx(-0.005) and s.worst_task == "cheetah-run"
    assert s.worst_mean == pytest.approx(-5.0) and s.ci_low <= s.iqm <= s.ci_high
    text = "\n".join(paired_md(suite))
    assert "| gorl-fm - ppo | cheetah-run | 2 | -5.0 ± 35.4 (2) | -5.0 ± 49.5 (2) | no |" in text
    # since=200: only the evaluation at 300 counts (seed 0: +30, seed 1: -40)
    later = paired_runs(suite, "gorl-fm", "ppo", since=200)
    assert [(p.seed, p.after, p.final) for p in later] == [(0, 30.0, 30.0), (1, -40.0, -40.0)]


def test_difference_curves_by_hand_and_their_picture(tmp_path):
    _run(tmp_path, "cheetah-run", "ppo", 0, {100: 50.0, 200: 60.0, 300: 70.0}, None)
    _run(tmp_path, "cheetah-run", "gorl-fm", 0, {100: 50.0, 200: 70.0, 300: 100.0}, 100)
    # seed 1's gorl run evaluated once more (400); ppo's did not: the curve keeps the steps both have
    _run(tmp_path, "cheetah-run", "ppo", 1, {100: 40.0, 200: 80.0, 300: 90.0}, None)
    _run(tmp_path, "cheetah-run", "gorl-fm", 1, {100: 40.0, 200: 60.0, 300: 50.0, 400: 55.0}, 100)
    # a task where only the baseline ran has no pair, so no picture
    _run(tmp_path, "walker-walk", "ppo", 0, {100: 5.0}, None)
    suite = load_suite(tmp_path)
    curves = paired_curves(suite, "gorl-fm", "ppo", "cheetah-run")
    assert [(c.seed, c.steps.tolist(), c.diffs.tolist(), c.first_refit) for c in curves] == [
        (0, [100, 200, 300], [0.0, 10.0, 30.0], 100),
        (1, [100, 200, 300], [0.0, -20.0, -40.0], 100),
    ]
    assert paired_curves(suite, "gorl-fm", "ppo", "walker-walk") == []
    plt = pytest.importorskip("matplotlib.pyplot")
    path = plot_paired(plt, suite, "cheetah-run")
    assert path == tmp_path / "paired_cheetah-run.png" and path.read_bytes()[:4] == b"\x89PNG"
    assert plot_paired(plt, suite, "walker-walk") is None
    text = "\n".join(paired_md(suite, [path]))
    assert text.endswith("![paired_cheetah-run](paired_cheetah-run.png)")
