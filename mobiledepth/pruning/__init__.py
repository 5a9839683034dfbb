"""Pruning: one NetAdapt engine (netadapt.py) for mobiledepth checkpoints and any nn.Module (runs.py), with
two channel sources (channels.py), fine-tuners (tuning.py), paired verification (judge.py), the run's folder
(store.py) and Ray workers for scoring (workers.py)."""
