"""benchmarks/gpu_speed.py end to end on the CPU device, tiny: every column is measured and written."""

import math


def test_every_column_is_measured_on_the_cpu_device(tmp_path, load_script):
    out = tmp_path / "speed.md"
    args = "--device cpu --tasks cheetah-run --num-envs 8 --steps 4 --warmup 1 --threads 1 --train-iters 1 "
    args += "--train-rollout 30 --fit-steps 3 --fit-batch 64 --fit-pairs 512"
    assert load_script("gpu_speed").main([*args.split(), "--out", str(out)]) == 0
    row = next(line for line in out.read_text().splitlines() if line.startswith("| cheetah-run | 8 |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert len(cells) == 11 and "failed" not in row
    numbers = [float(c.replace(",", "")) for c in cells[3:]]
    assert all(math.isfinite(x) and x >= 0 for x in numbers)
    assert all(numbers[i] > 0 for i in (0, 1, 3, 5, 7))  # raw, env, rollout, train steps/s, refit pairs/s
