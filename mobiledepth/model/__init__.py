"""The MobileDepth network, its configs, checkpoints and cost counters."""

from .checkpoint import Checkpoint, init_checkpoint, load_checkpoint, load_model, save_checkpoint
from .config import (
    VARIANTS,
    DecoderConfig,
    DecoderStageSpec,
    EncoderConfig,
    InvertedResidualSpec,
    ModelConfig,
    get_config,
)
from .flops import count_macs
from .network import MobileDepth, MobileDepthOutput, count_parameters

__all__ = [
    "Checkpoint",
    "DecoderConfig",
    "DecoderStageSpec",
    "EncoderConfig",
    "InvertedResidualSpec",
    "ModelConfig",
    "MobileDepth",
    "MobileDepthOutput",
    "VARIANTS",
    "count_macs",
    "count_parameters",
    "get_config",
    "init_checkpoint",
    "load_checkpoint",
    "load_model",
    "save_checkpoint",
]
