"""benchmarks/sac_update_speed.py: the reference update trains, a tiny run writes its table."""

import re

import torch


def test_the_reference_update_changes_its_nets_and_stays_finite(load_script):
    bench = load_script("sac_update_speed")
    torch.manual_seed(0)
    step = bench.reference_update(seed=0)
    params = [p for cell in step.__closure__ or () for p in _params(cell.cell_contents)]
    before = [p.detach().clone() for p in params]
    for _ in range(3):
        step()
    assert params and all(torch.isfinite(p).all() for p in params)
    assert sum(not torch.equal(a, b) for a, b in zip(before, params, strict=True)) >= len(params) // 2


def _params(obj):
    if isinstance(obj, torch.nn.Module):
        return list(obj.parameters())
    if isinstance(obj, list) and obj and isinstance(obj[0], torch.nn.Module):
        return [p for m in obj for p in m.parameters()]
    return []


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
    assert all(float(r.split("|")[2]) > 0 for r in rows)


def test_the_profile_finds_the_arithmetic_and_no_sacloss_in_the_reference(load_script, capsys):
    bench = load_script("sac_update_speed")
    assert bench.main(["--profile", "reference", "--updates", "3"]) == 0
    found = re.findall(r"^ +(\S.*?) +([0-9.]+) s ", capsys.readouterr().out, flags=re.M)
    seconds = {label: float(x) for label, x in found}
    assert seconds["SACLoss.forward"] == 0.0 and seconds["linear (the arithmetic)"] > 0
