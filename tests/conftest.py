import os

# See gorl/__init__.py: nothing renders, and MUJOCO_GL=egl plus a later triton import segfaults.
os.environ["MUJOCO_GL"] = "disable"
