"""Data: DIW point pairs, images, and the synthetic scene generator."""
