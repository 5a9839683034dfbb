"""Running models: one predictor interface over PyTorch, ONNX Runtime and LiteRT."""

from .predictors import Predictor, Preprocess, load_predictor, model_format

__all__ = ["Predictor", "Preprocess", "load_predictor", "model_format"]
