"""benchmarks/sac_update_speed.py: the reference update trains, a tiny run writes its table."""

import re

import torch


def test_the_reference_update_changes_its_nets_and_stays_finite(load_script):
    bench = load_script("sac_update_speed")
    torch.manual_seed(0)
    ref = bench.Reference(seed=0)
    params = [p for m in (ref.actor, *ref.critics) for p in m.parameters()] + [ref.log_alpha]
    before = [p.detach().clone() for p in params]
    for _ in range(3):
        ref.update()
    assert params and all(torch.isfinite(p).all() for p in params)
    assert sum(not torch.equal(a, b) for a, b in zip(before, params, strict=True)) >= len(params) // 2


def test_a_tiny_run_writes_a_row_per_side(load_script, tmp_path):
    bench = load_script("sac_update_speed")
    out = tmp_path / "speed.md"
    assert bench.main(["--rounds", "1", "--updates", "2", "--out", str(out)]) == 0
    rows = [line for line in out.read_text().splitlines() if line.startswith("| ")][1:]
    assert [r.split("|")[1].strip() for r in rows] == [
        "reference (plain PyTorch, tanh-Gaussian)",
        "gorl `sac`",
        "gorl `gorl-sac-fm`",
    ]
    cells = [[c.strip() for c in r.split("|")[2:-1]] for r in rows]
    assert all(float(c[0]) > 0 and float(c[3]) > 0 for c in cells)  # ms / update, loop env steps / s
    assert all(0 < float(c[5].rstrip("%")) < 100 for c in cells)  # the rollout's share of the loop


def test_the_profile_finds_the_arithmetic_and_no_sacloss_in_the_reference(load_script, capsys):
    bench = load_script("sac_update_speed")
    assert bench.main(["--profile", "reference", "--updates", "3"]) == 0
    found = re.findall(r"^ +(\S.*?) +([0-9.]+) s ", capsys.readouterr().out, flags=re.M)
    seconds = {label: float(x) for label, x in found}
    assert seconds["SACLoss.forward"] == 0.0 and seconds["sac_losses"] == 0.0
    assert seconds["linear (the arithmetic)"] > 0


def test_gorl_sac_trains_on_plain_tensors_not_sacloss(load_script, capsys):
    bench = load_script("sac_update_speed")
    assert bench.main(["--profile", "sac", "--updates", "3"]) == 0
    found = re.findall(r"^ +(\S.*?) +([0-9.]+) s ", capsys.readouterr().out, flags=re.M)
    seconds = {label: float(x) for label, x in found}
    assert seconds["SACLoss.forward"] == 0.0 and seconds["sac_losses"] > 0
    assert seconds["twin critics (ensemble_mlp)"] > 0 and seconds["linear (the arithmetic)"] > 0
