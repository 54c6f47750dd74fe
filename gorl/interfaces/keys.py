"""TensorDict keys shared by every gorl component.

One place names every key so that encoders, decoders, environments and losses agree. All tensors are
float32 unless stated; ``*B`` is any batch shape (``[N]`` for N environments, ``[N, T]`` for a rollout).

| key               | shape              | meaning                                                        |
|-------------------|--------------------|----------------------------------------------------------------|
| OBSERVATION       | (*B, obs_dim)      | flattened observation (normalised if the env normalises)      |
| LATENT            | (*B, latent_dim)   | z sampled from the encoder pi_theta(z|s)                       |
| LATENT_LOG_PROB   | (*B,)              | log pi_theta(z|s), summed over latent dims                     |
| LOC, SCALE        | (*B, latent_dim)   | the encoder's Gaussian parameters (scale > 0)                  |
| RAW_ACTION        | (*B, action_dim)   | the decoder's output g_phi(s, z), before the squash            |
| ACTION            | (*B, action_dim)   | squash(RAW_ACTION) inside the env's action bounds              |
| REWARD            | (*B, 1)            | reward of the transition (scaled if the env scales)            |
| DONE              | (*B, 1) bool       | TERMINATED or TRUNCATED                                        |
| TERMINATED        | (*B, 1) bool       | a true terminal state: no bootstrap                            |
| TRUNCATED         | (*B, 1) bool       | a time limit: GAE bootstraps through it                        |
"""

from __future__ import annotations

OBSERVATION = "observation"
LATENT = "latent"
LATENT_LOG_PROB = "latent_log_prob"
LOC = "loc"
SCALE = "scale"
RAW_ACTION = "raw_action"
ACTION = "action"
REWARD = "reward"
DONE = "done"
TERMINATED = "terminated"
TRUNCATED = "truncated"
NEXT = "next"

__all__ = [
    "ACTION",
    "DONE",
    "LATENT",
    "LATENT_LOG_PROB",
    "LOC",
    "NEXT",
    "OBSERVATION",
    "RAW_ACTION",
    "REWARD",
    "SCALE",
    "TERMINATED",
    "TRUNCATED",
]
