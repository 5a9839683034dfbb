"""Every derived random seed in one place, so that runs are reproducible and streams never collide.

A run has one user seed; each consumer (a sample's augmentation, an epoch's shuffle, a pruning
proposal's fine-tune) gets its own stream from it. The multipliers are primes larger than the
counter they separate (samples per epoch, epochs, proposals per iteration), so two different
(seed, counter) tuples do not map to the same stream. Changing a formula changes every rendered
or trained figure that depends on it: resumed training is bit-exact only because these stay fixed.
"""

from __future__ import annotations

SAMPLE_PRIME = 1_000_033  # > samples in an epoch
EPOCH_PRIME = 1_000_003  # > epochs in a run
SHUFFLE_PRIME = 7919  # epoch shuffles of the training order
PROPOSAL_PRIME = 100_003  # > iterations x proposals of a NetAdapt run
ITERATION_STRIDE = 101  # > proposals per NetAdapt iteration
FINETUNE_EPOCH_STRIDE = 1000  # > epochs of one fine-tune


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """One training sample's augmentation in one epoch."""
    return (seed * EPOCH_PRIME + epoch) * SAMPLE_PRIME + index


def shuffle_seed(seed: int, epoch: int) -> int:
    """The order of the training set in one epoch."""
    return seed * SHUFFLE_PRIME + epoch


def proposal_seed(seed: int, iteration: int, proposal: int) -> int:
    """The short fine-tune of one NetAdapt proposal."""
    return seed * PROPOSAL_PRIME + iteration * ITERATION_STRIDE + proposal


def final_finetune_seed(seed: int) -> int:
    """NetAdapt's long-term fine-tune of the chosen model."""
    return seed * 7 + 1


def finetune_epoch(seed: int, epoch: int) -> int:
    """The dataset epoch a fine-tune with ``seed`` reads in its ``epoch``-th pass (fresh augmentation)."""
    return seed * FINETUNE_EPOCH_STRIDE + epoch
