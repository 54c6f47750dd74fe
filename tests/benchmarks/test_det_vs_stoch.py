"""benchmarks/det_vs_stoch.py on hand-made metrics: the deterministic and stochastic figures by hand."""

import json
import math

import pytest


def test_the_end_of_run_figures_by_hand(load_script):
    script = load_script("det_vs_stoch")
    h = 0.5 * math.log(2 * math.pi * math.e)
    records = [
        {"kind": "eval", "env_steps": s, "return_mean": r} for s, r in [(10, 100.0), (20, 5.0), (30, 7.0)]
    ]
    records += [
        {"kind": "iteration", "env_steps": 5, "train_return": 1000.0, "entropy": 0.0},  # before the span
        {"kind": "iteration", "env_steps": 15, "train_return": 2.0, "entropy": 2 * (h + math.log(0.5))},
        {"kind": "refit", "env_steps": 18},
        {"kind": "iteration", "env_steps": 22, "train_return": 999.0, "entropy": 2 * (h + math.log(0.5))},
        {"kind": "iteration", "env_steps": 25, "train_return": 4.0, "entropy": 2 * (h + math.log(0.5))},
    ]
    # the last 2 evaluations span (10, 30]: det (5 + 7) / 2, stoch (2 + 4) / 2 (the first training return
    # after the refit left out), std 0.5 per dim (2 dims)
    assert script.end_of_run(records, 2, 2) == pytest.approx({"det": 6.0, "stoch": 3.0, "std": 0.5})
    assert script.end_of_run(records, 3, 2) is None  # needs an evaluation before the span
    # a SAC run logs alpha's score under "entropy" (here -KL at its target): no std is read from it
    sac = [{**r, "alpha": 0.01} if r["kind"] == "iteration" else r for r in records]
    assert script.end_of_run(sac, 2, 2) == pytest.approx({"det": 6.0, "stoch": 3.0, "std": None})


def test_the_table_from_a_suite_folder(tmp_path, load_script):
    script = load_script("det_vs_stoch")
    run = tmp_path / "runs" / "cheetah-run" / "ppo" / "s0"
    run.mkdir(parents=True)
    lines = [
        {"kind": "eval", "env_steps": 10, "return_mean": 1.0},
        {"kind": "eval", "env_steps": 20, "return_mean": 9.0},
    ]
    lines.append(
        {
            "kind": "iteration",
            "env_steps": 20,
            "train_return": 4.0,
            "entropy": 6 * 0.5 * math.log(2 * math.pi * math.e),
        }
    )
    (run / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    (run / "summary.json").write_text("{}")
    unfinished = tmp_path / "runs" / "cheetah-run" / "ppo" / "s1"  # no summary.json: left out
    unfinished.mkdir()
    (unfinished / "metrics.jsonl").write_text(
        "".join(json.dumps({**x, "return_mean": 1e6}) + "\n" for x in lines)
    )
    out = tmp_path / "t.md"
    assert script.main([str(tmp_path), "--arms", "ppo", "gorl-fm", "--evals", "1", "--out", str(out)]) == 0
    assert "| cheetah-run | 9 / 4 (+5), 1.00 [1 runs] | - |" in out.read_text()
