"""MobileDepth: MobileNetV2 encoder + FBNet decoder ("MNet v2 + FBNet x112"), paper §3.1 and Fig. 2."""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import ConvBNAct, FBNetBlock, InvertedResidual, PredictionHead
from .config import ModelConfig


class MobileDepthOutput(NamedTuple):
    """Training-time outputs: the final map, the auxiliary maps (all at input resolution), and the
    penultimate decoder features that pair-wise distillation compares with a teacher's."""

    depth: torch.Tensor
    aux: list[torch.Tensor]
    features: torch.Tensor


class MobileNetV2Encoder(nn.Module):
    """``features.0..17`` of torchvision's MobileNetV2 (no 1280-channel head), returning skip taps."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        enc = config.encoder
        layers: list[nn.Module] = [ConvBNAct(3, enc.stem, 3, 2)]
        cin = enc.stem
        self.channels: list[int] = [enc.stem]
        for spec in enc.blocks:
            layers.append(
                InvertedResidual(cin, spec.hidden, spec.out, spec.stride, spec.expand, spec.residual, spec.fused)
            )
            cin = spec.out
            self.channels.append(cin)
        self.features = nn.Sequential(*layers)
        self.taps = tuple(enc.skip_taps)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        skips: list[torch.Tensor] = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                skips.append(x)
        return x, skips


class FBNetDecoder(nn.Module):
    """Stage i takes cat(previous output, skip i), deepest skip first; five encoder->decoder skips."""

    def __init__(self, config: ModelConfig, encoder_channels: list[int]) -> None:
        super().__init__()
        dec = config.decoder
        skip_channels = [encoder_channels[t] for t in reversed(config.encoder.skip_taps)]
        cin = encoder_channels[-1]
        stages = []
        bounded = dec.act_limit > 0
        for spec, skip in zip(dec.stages, skip_channels):
            stages.append(
                FBNetBlock(
                    cin + skip,
                    spec.hidden,
                    spec.out,
                    spec.kernel,
                    spec.upsample,
                    spec.residual,
                    relu6=bounded,
                    upsample_at=spec.upsample_at,
                )
            )
            cin = spec.out
        self.stages = nn.ModuleList(stages)
        self.out_channels = [s.out for s in dec.stages]
        # Bounded decoders clamp both concat inputs to one range: TFLite gives all inputs of an int8
        # CONCATENATION the output's scale, so an unclamped wide skip would coarsen the other input.
        self.clamp: nn.Module = nn.Hardtanh(-dec.act_limit, dec.act_limit) if bounded else nn.Identity()
        # Parameter-free marks where the concatenated tensor exists, so quantisation-aware training can
        # observe it (TFLite quantises the concat output); identity otherwise.
        self.joins = nn.ModuleList(nn.Identity() for _ in dec.stages)

    def forward(self, x: torch.Tensor, skips: list[torch.Tensor]) -> list[torch.Tensor]:
        outputs = []
        x = self.clamp(x)
        for stage, join, skip in zip(self.stages, self.joins, reversed(skips)):
            x = self.clamp(stage(join(torch.cat([x, self.clamp(skip)], dim=1))))
            outputs.append(x)
        return outputs


class MobileDepth(nn.Module):
    """The depth network. Input: RGB in [0, 1], NCHW, sides multiples of 32. Output: N x 1 x H x W depth
    (larger = farther). ImageNet normalisation is inside the graph so every exported file takes [0, 1]
    images and int8 input quantisation covers a known range.

    In ``train()`` mode with heads attached, ``forward`` returns :class:`MobileDepthOutput`; in ``eval()``
    mode (and always after :meth:`strip_heads`) it returns the depth tensor only, which is what is exported.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.encoder = MobileNetV2Encoder(config)
        self.decoder = FBNetDecoder(config, self.encoder.channels)
        last = config.decoder.stages[-1].out
        self.pred = nn.Conv2d(last, 1, 3, padding=1)
        self.aux_heads = nn.ModuleDict(
            {
                str(i): PredictionHead(
                    config.decoder.stages[i - 1].out, config.decoder.head_hidden, config.decoder.head_out
                )
                for i in config.decoder.aux_after
            }
        )
        mean, std = torch.tensor(config.mean), torch.tensor(config.std)
        # Normalisation as ONE per-channel affine op (a 1x1 depthwise conv) in the ONNX graph, which the
        # converter folds into the first conv (convert/input_fold.py), so an int8 file never rounds a
        # normalised tensor. (As SUB then MUL it was once quantised on the MUL's coarser grid: 3.5% error.)
        self.register_buffer("norm_weight", (1.0 / std).view(3, 1, 1, 1), persistent=False)
        self.register_buffer("norm_bias", -mean / std, persistent=False)
        self._init_weights()

    def _init_weights(self) -> None:
        # He (Kaiming) init for the decoder, as in the paper (§4.1); the encoder gets the same until
        # ImageNet weights are loaded over it.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    @property
    def has_heads(self) -> bool:
        return len(self.aux_heads) > 0

    def strip_heads(self) -> "MobileDepth":
        """Remove the intermediate prediction heads (export, pruning). Returns self."""
        self.aux_heads = nn.ModuleDict()
        return self

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet mean/std on [0, 1] RGB, i.e. ``(x - mean) / std``."""
        return F.conv2d(x, self.norm_weight, self.norm_bias, groups=3)

    def forward_all(self, x: torch.Tensor) -> MobileDepthOutput:
        """All outputs regardless of mode (training losses, teachers)."""
        size = x.shape[-2:]
        feats, skips = self.encoder(self.normalise(x))
        stage_outputs = self.decoder(feats, skips)
        penultimate = stage_outputs[-1]
        depth = F.interpolate(self.pred(penultimate), scale_factor=2.0, mode="bilinear", align_corners=False)
        aux = [
            F.interpolate(head(stage_outputs[int(i) - 1]), size=size, mode="bilinear", align_corners=False)
            for i, head in self.aux_heads.items()
        ]
        return MobileDepthOutput(depth, aux, penultimate)

    def forward(self, x: torch.Tensor):
        if self.training and self.has_heads:
            return self.forward_all(x)
        size = x.shape[-2:]
        feats, skips = self.encoder(self.normalise(x))
        penultimate = self.decoder(feats, skips)[-1]
        depth = F.interpolate(self.pred(penultimate), scale_factor=2.0, mode="bilinear", align_corners=False)
        assert depth.shape[-2:] == size
        return depth


def count_parameters(model: nn.Module, exclude_heads: bool = True) -> int:
    """Parameters as the paper counts them: the exported graph, i.e. without auxiliary heads."""
    total = 0
    for name, p in model.named_parameters():
        if exclude_heads and name.startswith("aux_heads."):
            continue
        total += p.numel()
    return total
