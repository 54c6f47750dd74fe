"""Conformance checks that any encoder, decoder, latent optimiser or env backend must pass, in the library.

A plug-in author runs them on their own component::

    from gorl.testing import check_decoder
    check_decoder(lambda **kw: MyDecoder(**kw), obs_dim=5, action_dim=3)

Each check raises ``AssertionError`` with a message naming the broken property.
"""

from gorl.testing.conformance import check_decoder, check_latent_policy
from gorl.testing.env import ENV_CHECKS, check_env
from gorl.testing.fidelity import check_refit_fidelity
from gorl.testing.optimizer import check_latent_optimizer, check_stage_overrides

__all__ = [
    "ENV_CHECKS",
    "check_decoder",
    "check_env",
    "check_latent_optimizer",
    "check_latent_policy",
    "check_refit_fidelity",
    "check_stage_overrides",
]
