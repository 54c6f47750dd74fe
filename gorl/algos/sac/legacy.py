"""Checkpoints of the SACLoss-based optimiser (before the plain-tensor update), read in today's layout."""

from __future__ import annotations

from typing import Any

SACLOSS_CRITICS = ("qvalue_network_params.", "target_qvalue_network_params.")


def upgrade_state(state: dict[str, Any]) -> dict[str, Any]:
    """A state saved by the SACLoss-based optimiser in today's layout: the critics' ``"loss"`` entries
    (``<prefix>module.net.<j>.<weight|bias>``, stacked over the two critics) as ``TwinCritic``'s parameter
    lists (layer by layer, weight before bias: the same order their Adam state was saved in), and the
    TensorDict buffer (``("next", "reward")`` etc., ``(n, 1)``) as ``Replay``'s fields."""
    critic = state["critic"]
    if "loss" not in critic:
        return state
    lists = []
    for prefix in SACLOSS_CRITICS:
        keys = [k for k in critic["loss"] if k.startswith(prefix)]
        order = sorted(keys, key=lambda k: (int(k.split(".")[-2]), k.endswith(".bias")))
        lists.append([critic["loss"][k] for k in order])
    new_critic = {
        "critic": lists[0],
        "target": lists[1],
        "log_alpha": critic["loss"]["log_alpha"],
        **{k: critic[k] for k in ("critic_optim", "alpha_optim", "actor_optim")},
    }
    buf = state["buffer"]
    data = buf["data"]
    if data is not None:
        nxt = data["next"]
        data = {
            "obs": data["observation"],
            "latent": data["latent"],
            "action": data["action"],
            "next_obs": nxt["observation"],
            **{k: nxt[k].reshape(-1) for k in ("reward", "done", "terminated")},
        }
    # TorchRL's round-robin writer keeps its cursor inside [0, capacity), as Replay does
    new_buf = {"data": data, "size": buf["size"], "cursor": int(buf["writer"]["_cursor"])}
    return {**state, "critic": new_critic, "buffer": new_buf}
