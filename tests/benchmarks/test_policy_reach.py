"""benchmarks/policy_move.py and benchmarks/decoder_reach.py on a tiny GoRL(SAC) run's kept checkpoint."""

import pytest


def test_a_policy_has_not_moved_from_itself_and_has_moved_after_a_stage(load_script, kept_sac_run):
    policy_move = load_script("policy_move")
    run, kept, _ = kept_sac_run
    same = policy_move.move(run, kept, kept, states=64, draws=16)
    assert same["from"] == same["to"] >= kept  # the copy is made at the iteration that reaches kept
    # the same policy on the same states: no move; the spreads differ only by their draws (16 each)
    assert same["det_move_spreads"] == 0.0 and same["spread_ratio"] == pytest.approx(1.0, abs=0.5)
    later = policy_move.move(run, kept, None, states=64, draws=16)
    assert later["to"] > later["from"] and later["det_move_spreads"] > 0.0


def test_the_decoder_reach_rows_grow_with_t(load_script, kept_sac_run, capsys):
    decoder_reach = load_script("decoder_reach")
    run, kept, _ = kept_sac_run
    assert decoder_reach.main([str(run), "--kept", str(kept), "--states", "64", "--t", "1", "3"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith(f"| {run.parts[-3]}")]
    assert len(rows) == 2
    means = [float(row.split("|")[3]) for row in rows]
    # a flow fitted on the stage's pairs moves its action along z's axis, farther at t = 3 than at t = 1
    assert 0.0 < means[0] < means[1]
