import os

import torch

# See gorl/__init__.py: nothing renders, and MUJOCO_GL=egl plus a later triton import segfaults.
os.environ["MUJOCO_GL"] = "disable"
# One thread: deterministic, and small ops were ~20x slower with two threads on a busy 2-core machine.
torch.set_num_threads(1)
