"""benchmarks/stage_gap.py on hand-made metrics: the start, learning and end gaps by hand."""

import json

import pytest


def _write(run, returns, refits=()):
    run.mkdir(parents=True)
    (run / "summary.json").write_text("{}")
    lines = [
        {"kind": "iteration", "env_steps": 10 * (i + 1), "train_return": r} for i, r in enumerate(returns)
    ]
    lines += [{"kind": "refit", "stage": k + 1, "env_steps": s} for k, s in enumerate(refits)]
    (run / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))


def test_the_gaps_by_hand(tmp_path, load_script):
    script = load_script("stage_gap")
    # refit at 40 env steps, stage 1 ends at 80; windows of 2 iterations (20 steps)
    _write(tmp_path / "runs" / "t" / "ppo" / "s0", [1, 2, 3, 4, 10, 12, 20, 22])
    _write(tmp_path / "runs" / "t" / "gorl" / "s0", [1, 2, 3, 4, 15, 17, 19, 21], refits=(40, 80))
    gap = script.stage_gap(tmp_path / "runs" / "t" / "gorl" / "s0", tmp_path / "runs" / "t" / "ppo" / "s0", 2)
    # start: 16 - 11 = +5; learning: (20 - 16) - (21 - 11) = -6; end: 20 - 21 = -1
    assert gap == pytest.approx({"start": 5.0, "learning": -6.0, "end": -1.0})
    out = tmp_path / "gap.md"
    assert script.main([str(tmp_path), "--arms", "gorl", "--window", "2", "--out", str(out)]) == 0
    assert "| gorl | t | 1 | +5.0 | -6.0 (-6) | -1.0 |" in out.read_text()
