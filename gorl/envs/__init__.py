"""Batched environments (``dmc`` on the CPU, ``warp`` on a GPU) sharing ``gorl.interfaces.env``."""
