"""gorl: online reinforcement learning with generative policies (GoRL) on PyTorch and TorchRL."""

import os

# Nothing in gorl renders. dm_control picks an OpenGL backend at import; with MUJOCO_GL=egl, a later
# first import of triton (through torch/tensordict) segfaults the process (seen here, 2026-11), and with
# no variable set it warns about GLFW. "disable" avoids both; a user's own setting wins.
os.environ.setdefault("MUJOCO_GL", "disable")

__version__ = "0.1.0"
