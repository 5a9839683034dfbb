"""Pictures a person reads: colourised depth maps, model-vs-model grids, depth videos, label placement."""
