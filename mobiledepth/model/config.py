"""Architecture configs: every width explicit, serialisable to JSON, and a registry of named variants.

Widths are stored per block rather than as a width multiplier because pruning (NetAdapt) changes
individual layers; a pruned model must be rebuilt exactly from the config stored in its checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Callable

from ..inputs import DEFAULT_INPUT, MAX_INPUT_SIDE, InputSpec, Preprocess

# torchvision's MobileNetV2 inverted-residual settings: expansion t, out channels c, repeats n, stride s.
_MNV2_SETTINGS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


@dataclass(frozen=True)
class InvertedResidualSpec:
    """One MobileNetV2 block (torchvision ``features.N``). ``expand`` False means no 1x1 expansion conv.

    ``fused`` (fused-MBConv, as in EfficientNetV2 and MobileDet): one full 3x3 conv (cin -> hidden) in place
    of the 1x1 expansion and the 3x3 depthwise. Why: XNNPACK's x86 int8 depthwise kernels run slower than
    fp32 (benchmarks/int8_op_speed.py) while full convs gain 3-4x, so where channels are few the fused
    block costs little more in fp32 and much less in int8.
    """

    hidden: int
    out: int
    stride: int
    expand: bool = True
    # Explicit, not re-derived from shapes: pruning can make a block's input and output widths equal,
    # and the rebuilt model must not grow a residual add the trained one never had.
    residual: bool = False
    fused: bool = False

    @property
    def project_index(self) -> int:
        """Index of the 1x1 project conv in the block's ``conv`` Sequential (after expand? + spatial conv)."""
        return 2 if self.expand and not self.fused else 1

    @property
    def hidden_follows_input(self) -> bool:
        """torchvision's t=1 block: the depthwise runs on the input's channels, so its width is the input's."""
        return not self.expand


IMAGENET_MEAN = (0.485, 0.456, 0.406)  # the encoder's ImageNet pretraining normalised inputs with these
IMAGENET_STD = (0.229, 0.224, 0.225)
# features.N outputs feeding the decoder: the last block of each resolution of MobileNetV2 (1/2 .. 1/32).
DEFAULT_SKIP_TAPS = (1, 3, 6, 13, 16)
DEFAULT_AUX_AFTER = (2, 3)  # decoder stages followed by an intermediate prediction head (paper: two heads)
UPSAMPLE_PLACES = ("depthwise", "output")  # DecoderStageSpec.upsample_at
MAX_WIDTH = 8192  # channels of one layer: a damaged or crafted config must not allocate tens of GB
MAX_BLOCKS = 64
OUTPUT_STRIDE = 32  # MobileNetV2: the stem and four blocks halve the resolution; inputs must divide by this


@dataclass(frozen=True)
class EncoderConfig:
    """MobileNetV2 without its 1280-channel head. ``skip_taps`` are ``features.N`` indices feeding the decoder."""

    stem: int = 32
    blocks: tuple[InvertedResidualSpec, ...] = ()
    skip_taps: tuple[int, ...] = DEFAULT_SKIP_TAPS

    @property
    def output_stride(self) -> int:
        """How much the encoder shrinks its input (stem x every block's stride): input sides divide by it."""
        stride = 2
        for block in self.blocks:
            stride *= block.stride
        return stride


@dataclass(frozen=True)
class DecoderStageSpec:
    """An FBNet block: 1x1 expand -> (nearest x2) -> kxk depthwise -> 1x1 project (+ residual if shapes match)."""

    hidden: int
    out: int
    kernel: int = 3
    upsample: bool = True
    residual: bool = False  # explicit for the same reason as in InvertedResidualSpec
    # Where the x2 upsampling sits: "depthwise" (before the depthwise, the paper's FBNet decoder) or "output"
    # (after the project conv: every conv runs at the input's resolution, the upsampled tensor has `out`
    # channels, not `hidden`). Why "output" exists: int8 depthwise convs and the upsampling's copies are
    # slow on x86 XNNPACK, and at the higher resolution they cost 4x more (benchmarks/int8_op_speed.py).
    upsample_at: str = "depthwise"


@dataclass(frozen=True)
class DecoderConfig:
    """Decoder stages, deepest first. Stage i consumes the previous output concatenated with skip tap i."""

    stages: tuple[DecoderStageSpec, ...] = ()
    aux_after: tuple[int, ...] = DEFAULT_AUX_AFTER  # 1-based stage numbers followed by an intermediate prediction head
    head_hidden: int = 32
    head_out: int = 16
    # 0: unbounded (ReLU, linear skips; checkpoints written before the field). > 0: quantisation-friendly
    # decoder: ReLU6 inside the FBNet blocks and every concat input and stage output clamped to
    # [-act_limit, act_limit]. int8 gives each tensor 256 levels over its calibrated range; unbounded
    # long-tailed decoder activations made that step 5-9x coarser than their RMS (see quant/README).
    act_limit: float = 0.0


def input_spec_from_dict(data: Any) -> InputSpec:
    """A config's ``input`` block; configs written before it existed take the house default."""
    if data is None:
        return DEFAULT_INPUT
    data = dict(data)
    pre = dict(data.pop("preprocess", {}))
    pre = {k: tuple(v) if isinstance(v, list) else v for k, v in pre.items()}
    return InputSpec(**data, preprocess=Preprocess(**pre))


@dataclass(frozen=True)
class ModelConfig:
    name: str
    encoder: EncoderConfig
    decoder: DecoderConfig
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    output: str = "depth"  # larger value = farther, the DIW '>' convention
    # What the network takes, carried in every checkpoint: its [0, 1] RGB input needs no preprocessing (mean
    # and std above are applied inside the graph), and its size is the one convert, eval and bench default to.
    input: InputSpec = DEFAULT_INPUT

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        """Rebuild from :meth:`to_dict` output; raises ``ValueError``/``KeyError``/``TypeError`` on bad input."""
        enc = dict(data["encoder"])
        blocks, cin = [], enc.get("stem", 32)
        for b in enc["blocks"]:
            b = dict(b)
            b.setdefault(
                "residual", b["stride"] == 1 and cin == b["out"]
            )  # configs written before the field: torchvision's rule
            blocks.append(InvertedResidualSpec(**b))
            cin = b["out"]
        enc["blocks"] = tuple(blocks)
        enc["skip_taps"] = tuple(enc.get("skip_taps", DEFAULT_SKIP_TAPS))
        dec = dict(data["decoder"])
        dec["stages"] = tuple(DecoderStageSpec(**s) for s in dec["stages"])
        dec["aux_after"] = tuple(dec.get("aux_after", DEFAULT_AUX_AFTER))
        dec["act_limit"] = float(dec.get("act_limit", 0.0))
        config = cls(
            name=str(data["name"]),
            encoder=EncoderConfig(**enc),
            decoder=DecoderConfig(**dec),
            mean=tuple(data.get("mean", IMAGENET_MEAN)),
            std=tuple(data.get("std", IMAGENET_STD)),
            output=str(data.get("output", "depth")),
            input=input_spec_from_dict(data.get("input")),
        )
        config.validate()
        return config

    def validate(self) -> None:
        """Check structural consistency so a bad config fails here, not deep inside ``nn.Conv2d``."""
        blocks = self.encoder.blocks
        if not blocks:
            raise ValueError("encoder has no blocks")
        taps = self.encoder.skip_taps
        if len(taps) != len(self.decoder.stages):
            raise ValueError(f"{len(taps)} skip taps but {len(self.decoder.stages)} decoder stages")
        if any(not 0 <= t < len(blocks) for t in taps):
            raise ValueError(
                f"skip taps {taps} out of range for {len(blocks)} encoder blocks (features.1..{len(blocks)})"
            )
        for i in self.decoder.aux_after:
            if not 1 <= i <= len(self.decoder.stages):
                raise ValueError(f"aux head after stage {i}, but there are {len(self.decoder.stages)} stages")
        for i, b in enumerate(blocks):
            if b.fused and not b.expand:
                raise ValueError(f"encoder block {i + 1}: a fused block has its own width (expand must be true)")
        widths = [self.encoder.stem, self.decoder.head_hidden, self.decoder.head_out]
        for spec in (*blocks, *self.decoder.stages):
            if spec.hidden <= 0 or spec.out <= 0:
                raise ValueError(f"non-positive width in {spec}")
            widths += [spec.hidden, spec.out]
        if max(widths) > MAX_WIDTH or min(widths) < 1 or len(blocks) > MAX_BLOCKS:
            raise ValueError(
                f"widths {min(widths)}..{max(widths)} over {len(blocks)} blocks: a config allows 1.."
                f"{MAX_WIDTH} channels and {MAX_BLOCKS} blocks (checked before any weight is allocated)"
            )
        if any(b.stride not in (1, 2) for b in blocks):
            raise ValueError("encoder strides must be 1 or 2")
        spec_in = self.input
        if not (0 < spec_in.height <= MAX_INPUT_SIDE and 0 < spec_in.width <= MAX_INPUT_SIDE):
            raise ValueError(f"input size {spec_in.height}x{spec_in.width}: sides must be 1..{MAX_INPUT_SIDE}")
        for spec in self.decoder.stages:
            if spec.kernel not in (3, 5):
                raise ValueError(f"decoder kernel must be 3 or 5, got {spec.kernel}")
            if spec.upsample_at not in UPSAMPLE_PLACES:
                raise ValueError(f"decoder upsample_at must be one of {UPSAMPLE_PLACES}, got {spec.upsample_at!r}")
        cin = self.encoder.stem
        for i, b in enumerate(blocks):
            if b.residual and not (b.stride == 1 and cin == b.out):
                raise ValueError(
                    f"encoder block {i + 1}: residual add needs stride 1 and equal widths ({cin} -> {b.out}, stride "
                    f"{b.stride})"
                )
            cin = b.out
        if not self.decoder.act_limit >= 0:
            raise ValueError(f"decoder act_limit must be >= 0 (0 = unbounded), got {self.decoder.act_limit}")
        if self.output not in ("depth", "disparity"):
            raise ValueError(f"output must be 'depth' or 'disparity', got {self.output!r}")

    @property
    def output_stride(self) -> int:
        """Input sides must be multiples of this (encoder downsampling)."""
        return 2 * _product(b.stride for b in self.encoder.blocks)


def _product(values) -> int:
    out = 1
    for v in values:
        out *= v
    return out


def _make_divisible(value: float, divisor: int = 8) -> int:
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * value else new


def mobilenet_v2_encoder(width: float = 1.0) -> EncoderConfig:
    """torchvision's MobileNetV2 layout (features.0..17) at a width multiplier."""
    stem = _make_divisible(32 * width)
    blocks = []
    cin = stem
    for t, c, n, s in _MNV2_SETTINGS:
        out = _make_divisible(c * width)
        for i in range(n):
            stride = s if i == 0 else 1
            blocks.append(
                InvertedResidualSpec(
                    hidden=cin * t, out=out, stride=stride, expand=t != 1, residual=stride == 1 and cin == out
                )
            )
            cin = out
    return EncoderConfig(stem=stem, blocks=tuple(blocks))


def fbnet_decoder(
    widths: tuple[int, ...],
    expansions: tuple[float, ...],
    kernels: tuple[int, ...],
    head_hidden: int = 32,
    act_limit: float = 0.0,
) -> DecoderConfig:
    """Five FBNet stages; the first four upsample (/32 -> /2), the last refines at /2 ("x112" for 224)."""
    stages = tuple(
        DecoderStageSpec(hidden=_make_divisible(w * e), out=w, kernel=k, upsample=i < len(widths) - 1)
        for i, (w, e, k) in enumerate(zip(widths, expansions, kernels))
    )
    return DecoderConfig(stages=stages, head_hidden=head_hidden, act_limit=act_limit)


# The shipped model's decoder bound (see DecoderConfig.act_limit): about the 99.9th percentile of the
# unbounded decoder's concat inputs, so clamping changes little in float while int8 gets a 2-3x finer step.
INT8_ACT_LIMIT = 8.0


def _base() -> ModelConfig:
    return ModelConfig(
        name="mobiledepth-base",
        encoder=mobilenet_v2_encoder(1.0),
        decoder=fbnet_decoder(
            widths=(184, 128, 64, 32, 24), expansions=(4, 4, 3, 2, 2), kernels=(5, 5, 3, 3, 3), act_limit=INT8_ACT_LIMIT
        ),
    )


def _small() -> ModelConfig:
    """A narrow model for tests and quick experiments (same topology, fewer channels)."""
    return ModelConfig(
        name="mobiledepth-small",
        encoder=mobilenet_v2_encoder(0.5),
        decoder=fbnet_decoder(
            widths=(64, 48, 32, 16, 16), expansions=(2, 2, 2, 2, 2), kernels=(3, 3, 3, 3, 3), head_hidden=16
        ),
    )


def _wide() -> ModelConfig:
    """A wider model (encoder x1.4): usable as a distillation teacher for the base model."""
    return ModelConfig(
        name="mobiledepth-wide",
        encoder=mobilenet_v2_encoder(1.4),
        decoder=fbnet_decoder(
            widths=(224, 128, 96, 48, 48), expansions=(4, 4, 4, 4, 4), kernels=(5, 5, 5, 3, 3), head_hidden=48
        ),
    )


# Encoder blocks (0-based) fused in the int8 variant: features.2-6, the 24- and 32-channel blocks, where a
# full 3x3 conv costs least over expand 1x1 + depthwise 3x3. Not features.1: its depthwise runs at 1/2
# resolution on the stem's 32 channels, and a full conv there is 16x its MACs.
FUSED_BLOCKS = range(1, 6)


def fused_int8_variant(config: ModelConfig, name: str) -> ModelConfig:
    """``config`` with the early encoder blocks fused and every decoder stage upsampling after its project
    conv. Why: on x86 XNNPACK int8 depthwise convs, adds and the upsampling's copies run slower than fp32
    while full convs gain 3-4x; this moves the early depthwise work into full convs and the decoder's
    depthwise convs to the lower resolution, so the int8 file gains more than the paper's layout can (the
    fp32 cost stays about the same). Needs training from scratch: the layers differ."""
    blocks = tuple(
        dataclasses.replace(b, fused=True, expand=True) if i in FUSED_BLOCKS else b
        for i, b in enumerate(config.encoder.blocks)
    )
    stages = tuple(dataclasses.replace(s, upsample_at="output") for s in config.decoder.stages)
    return dataclasses.replace(
        config,
        name=name,
        encoder=dataclasses.replace(config.encoder, blocks=blocks),
        decoder=dataclasses.replace(config.decoder, stages=stages),
    )


def _fused() -> ModelConfig:
    """The base model's widths in the int8-friendly layout (:func:`fused_int8_variant`)."""
    return fused_int8_variant(_base(), "mobiledepth-fused")


VARIANTS: dict[str, Callable[[], ModelConfig]] = {
    "mobiledepth-base": _base,
    "mobiledepth-small": _small,
    "mobiledepth-wide": _wide,
    "mobiledepth-fused": _fused,
}


def get_config(name: str) -> ModelConfig:
    """Look up a named variant; the error lists the known names."""
    try:
        return VARIANTS[name]()
    except KeyError:
        raise KeyError(f"unknown variant {name!r}; known: {', '.join(sorted(VARIANTS))}") from None
