"""GoRL's method: encoder stages alternating with decoder refits (the two-timescale schedule).

* ``ScheduleConfig`` (``config.py``): stages, per-stage overrides, the refit's data, fit and checks.
* ``TwoTimescale`` (``schedule.py``): the schedule of one run, its refits and their records.
* ``fit_decoder`` / ``FitConfig`` (``fit.py``): supervised fitting of a decoder on pairs.
* ``draw_pairs`` / ``RefitPairs`` (``pairs.py``): refit data, independent or coupled.
* ``action_fidelity`` (``fidelity.py``): how closely a refitted policy reproduces its data policy.
"""

from gorl.twotimescale.config import ScheduleConfig
from gorl.twotimescale.fidelity import Fidelity, action_fidelity, energy_distance
from gorl.twotimescale.fit import FitConfig, FitReport, fit_decoder
from gorl.twotimescale.pairs import RefitPairs, draw_pairs
from gorl.twotimescale.schedule import TwoTimescale

__all__ = [
    "Fidelity",
    "FitConfig",
    "FitReport",
    "RefitPairs",
    "ScheduleConfig",
    "TwoTimescale",
    "action_fidelity",
    "draw_pairs",
    "energy_distance",
    "fit_decoder",
]
