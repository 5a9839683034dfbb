"""Pruning: NetAdapt against measured latency, for mobiledepth checkpoints (netadapt.py, the CLI) and for
any nn.Module through the Python API (any_model.py)."""
