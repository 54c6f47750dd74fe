"""gorl: online reinforcement learning with generative policies (GoRL) on PyTorch and TorchRL."""

__version__ = "0.1.0"
