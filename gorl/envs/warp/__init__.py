"""MuJoCo Warp backend: ``WarpBatchEnv`` (``gorl.envs.warp.env``) and its dm_control parity check
(``gorl.envs.warp.parity``, run as ``python -m gorl.envs.warp.parity``). See docs/warp.md."""

from gorl.envs.warp.env import WarpBatchEnv, sim_views

__all__ = ["WarpBatchEnv", "sim_views"]
