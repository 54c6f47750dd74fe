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
    # refits at 40 and 80 env steps, the runs end at 120; windows of 2 iterations (20 steps)
    ppo, gorl = tmp_path / "runs" / "t" / "ppo" / "s0", tmp_path / "runs" / "t" / "gorl" / "s0"
    _write(ppo, [1, 2, 3, 4, 10, 12, 20, 22, 30, 31, 40, 44])
    # the first training return after each refit (at 50 and 90 env steps) is left out
    _write(gorl, [1, 2, 3, 4, 999, 17, 19, 21, 999, 27, 41, 46], refits=(40, 80))
    # stage 1: start 17 - 11 = +6 (= the jump: nothing before); learning (20 - 17) - (21 - 11) = -7;
    # end 20 - 21 = -1
    gap1 = {"before": 0.0, "jump": 6.0, "start": 6.0, "learning": -7.0, "end": -1.0}
    assert script.stage_gap(gorl, ppo, 2) == pytest.approx(gap1)
    # stage 2: before 20 - 21 = -1; start 27 - 30.5 = -3.5, so jump -2.5; learning (43.5 - 27) - (42 - 30.5)
    # = +5; end 43.5 - 42 = +1.5 (= -1 - 2.5 + 5)
    gap2 = {"before": -1.0, "jump": -2.5, "start": -3.5, "learning": 5.0, "end": 1.5}
    assert script.stage_gap(gorl, ppo, 2, stage=2) == pytest.approx(gap2)
    assert script.stage_gap(gorl, ppo, 2, stage=3) is None  # two refits only
    out = tmp_path / "gap.md"
    assert script.main([str(tmp_path), "--arms", "gorl", "--window", "2", "--out", str(out)]) == 0
    assert "| gorl | t | 1 | +0.0 | +6.0 | +6.0 | -7.0 (-7) | -1.0 |" in out.read_text()
    args = [str(tmp_path), "--arms", "gorl", "--window", "2", "--stage", "2", "--out", str(out)]
    assert script.main(args) == 0
    text = out.read_text()
    assert text.startswith("# Stage 2 against the baseline")
    assert "| gorl | t | 1 | -1.0 | -2.5 | -3.5 | +5.0 (+5) | +1.5 |" in text


def test_stage_0_is_refused(tmp_path, load_script):
    script = load_script("stage_gap")
    with pytest.raises(SystemExit):
        script.main([str(tmp_path), "--arms", "gorl", "--stage", "0"])
