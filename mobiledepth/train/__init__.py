"""Training: datasets, the paper's losses, distillation, loss rebalancing and the trainer."""
