"""The action distribution of trained policies at a fixed state (the GoRL paper's Figure 7).

The paper: "we fix a representative state, sample 10,000 actions from each trained policy, project
actions to 1D using PCA, and estimate densities via Gaussian KDE with a bandwidth factor of 0.8. The
same pipeline is applied to all methods for fair comparison." It shows GoRL's policy becoming
multimodal while Gaussian PPO's stays unimodal.

Pipeline here:

* ``fixed_states``: the run's own policy, deterministic (mean latent), in its evaluation env from the
  evaluation's fixed start, for ``warmup_steps`` steps; the observation there is the state (so it lies
  on the policy's own path).
* ``sample_actions``: ``n`` env-space actions drawn at that state by each run's behaviour policy (the
  actor its optimiser collects with: the composite ``z ~ encoder``, ``a = squash(decode(s, z))`` for
  PPO, GoRL, SAC and FPO; DPPO's stochastic denoising chain for DPPO).
* ``action_density_figure``: one PCA on the pooled actions of all runs (a shared axis), projection to
  1-D, a Gaussian KDE per run with ``bw_method = bandwidth * scott_factor`` (0.8 x Scott's rule), one
  line per run; the number of modes per run goes to a JSON file beside the PNG.

``main_plot_actions`` is the ``gorl plot actions RUN [RUN ...] --out FILE`` command.
"""

from gorl.plot_actions.cli import main_plot_actions, parser, run_labels
from gorl.plot_actions.density import count_modes, kde, pca_axis, sample_modes
from gorl.plot_actions.figure import action_density_figure
from gorl.plot_actions.sample import LoadedRun, check_run_dir, fixed_states, load_run, sample_actions

__all__ = [
    "LoadedRun",
    "action_density_figure",
    "check_run_dir",
    "count_modes",
    "fixed_states",
    "kde",
    "load_run",
    "main_plot_actions",
    "parser",
    "pca_axis",
    "run_labels",
    "sample_actions",
    "sample_modes",
]
