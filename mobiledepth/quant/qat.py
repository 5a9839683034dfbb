"""Quantisation-aware training for MobileDepth: simulate the int8 TFLite file inside PyTorch.

:class:`QuantSimulation` changes a model in place so that its forward pass rounds where the converted
full-integer file rounds: the [0, 1] input (scale 1/255), every conv output
(after its fused ReLU/ReLU6), every residual add, every decoder concat, the prediction conv and the
final map; conv weights are fake-quantised per output channel. BatchNorm is folded into the convs
first and frozen (the converter folds it too, so the weights QAT rounds are the ones shipped). The
converter also folds the input normalisation into the first conv (``convert/input_fold.py``), so there
is no normalised tensor to round and that conv's weights are rounded as ``W / std`` per input channel;
where the fold was not applied (``input_folded=False``, e.g. its check rejected it) the normalised
tensor is rounded instead, as that file does. The converter's default int8 file resizes its output in float
(``convert/tflite_float_resize.py``), so its final map is not rounded (``round_output=False`` simulates that
file); the QAT stage keeps rounding it, as the shipped weights were trained: stricter than the file by at most
half an output step.

Nothing here changes the state dict: after :meth:`QuantSimulation.remove` the model is an ordinary
MobileDepth whose BatchNorms are identities carrying the folded bias, saved and converted as usual.
"""

from __future__ import annotations

import contextlib
import types
from typing import Iterable, Iterator

import torch
from torch import nn

from ..model.blocks import ConvBNAct, FBNetBlock, InvertedResidual
from ..model.network import MobileDepth, MobileDepthOutput
from .fake_quant import ActivationQuantizer, fake_quantize_weight

RELU6_RANGE = (0.0, 6.0)
INPUT_RANGE = (0.0, 1.0)  # the converter is calibrated to exactly this range too (convert/calibration.py)


def _is_identity_bn(bn: nn.BatchNorm2d) -> bool:
    return bool(
        torch.all(bn.running_mean == 0)
        and torch.all(bn.weight == 1)
        and torch.allclose(bn.running_var + bn.eps, torch.ones_like(bn.running_var))
    )


def fold_batchnorm(model: nn.Module) -> int:
    """Fold every (Conv2d, BatchNorm2d) pair of a Sequential into the conv; the BN becomes an identity
    that carries the folded bias (so the state dict keeps its keys). Returns the number folded."""
    folded = 0
    for seq in model.modules():
        if not isinstance(seq, nn.Sequential):
            continue
        children = list(seq)
        for conv, bn in zip(children, children[1:]):
            if not (isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d)) or _is_identity_bn(bn):
                continue
            with torch.no_grad():
                factor = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                bias = bn.bias - bn.running_mean * factor
                if conv.bias is not None:
                    bias = bias + conv.bias * factor
                    conv.bias.zero_()
                conv.weight.mul_(factor.view(-1, 1, 1, 1))
                bn.bias.copy_(bias)
                bn.weight.fill_(1.0)
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0 - bn.eps)
            folded += 1
    return folded


def _quantized_conv_forward(self: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    weight = self.weight
    if self.__dict__.get("quantize_weight", True):
        folded = self.__dict__.get("input_scale")  # the first conv: the file holds W x (1 / std) per input channel
        weight = fake_quantize_weight(weight) if folded is None else fake_quantize_weight(weight * folded) / folded
    return self._conv_forward(x, weight, self.bias)


def _freeze_bn(module: nn.Module, args) -> None:
    module.training = False  # folded BN must stay an identity: never batch statistics


class QuantSimulation:
    """Attach fake quantisation to ``model`` (in place). ``quantizers`` maps a point's name to its
    observer; :meth:`ranges` reports what was observed."""

    def __init__(self, model: MobileDepth, input_folded: bool = True, round_output: bool = True) -> None:
        self.model = model
        self.input_folded = input_folded
        self.round_output = round_output
        self.folded = fold_batchnorm(model)
        self.quantizers: dict[str, ActivationQuantizer] = {}
        self._handles: list = []
        self.convs: dict[str, nn.Conv2d] = {}
        self._attach_input(model)
        for name, module in model.named_modules():
            if not name.startswith("aux_heads"):
                self._attach(name, module)

    # ---- where TFLite rounds ---------------------------------------------------------------------
    def _quantizer(self, name: str, fixed: tuple[float, float] | None = None) -> ActivationQuantizer:
        q = ActivationQuantizer(fixed).to(next(self.model.parameters()).device)
        self.quantizers[name] = q
        return q

    def _on_output(self, module: nn.Module, name: str, fixed: tuple[float, float] | None = None) -> None:
        q = self._quantizer(name, fixed)

        def hook(mod, args, out):
            if isinstance(out, MobileDepthOutput):
                return out._replace(depth=q(out.depth))
            return q(out)

        self._handles.append(module.register_forward_hook(hook))

    def _attach_input(self, model: MobileDepth) -> None:
        q_in = self._quantizer("input", INPUT_RANGE)
        self._handles.append(model.register_forward_pre_hook(lambda mod, args: (q_in(args[0]), *args[1:])))
        if self.input_folded:
            model.encoder.features[0][0].__dict__["input_scale"] = model.norm_weight.view(1, 3, 1, 1)
        else:
            q_norm = self._quantizer("normalised")
            first = model.encoder.features[0]
            self._handles.append(first.register_forward_pre_hook(lambda mod, args: (q_norm(args[0]), *args[1:])))
        if self.round_output:
            self._on_output(model, "output")

    def _attach(self, name: str, module: nn.Module) -> None:
        if isinstance(module, ConvBNAct):
            self._on_output(module, name, RELU6_RANGE if isinstance(module[-1], nn.ReLU6) else None)
        elif isinstance(module, InvertedResidual):
            self._on_output(module.conv, f"{name}.conv")
            if module.use_res_connect:
                self._on_output(module, f"{name}.add")
        elif isinstance(module, FBNetBlock):
            for part in ("expand", "depthwise"):
                seq = getattr(module, part)
                self._on_output(seq, f"{name}.{part}", RELU6_RANGE if isinstance(seq[-1], nn.ReLU6) else None)
            self._on_output(module.project, f"{name}.project")
            if module.use_res_connect:
                self._on_output(module, f"{name}.add")
        elif name.startswith("decoder.joins.") or name == "pred":
            self._on_output(module, name)
        if isinstance(module, nn.Conv2d):
            module.forward = types.MethodType(_quantized_conv_forward, module)
            self.convs[name] = module
        elif isinstance(module, nn.BatchNorm2d):
            module.weight.requires_grad_(False)
            self._handles.append(module.register_forward_pre_hook(_freeze_bn))

    # ---- use ---------------------------------------------------------------------------------------
    def calibrate(self, batches: Iterable[torch.Tensor]) -> None:
        """Record ranges on float activations (as the converter's calibrator does), then quantise."""
        for q in self.quantizers.values():
            q.enabled = False
        was_training = self.model.training
        self.model.train()
        with torch.no_grad():
            for images in batches:
                self.model(images)
        self.model.train(was_training)
        for q in self.quantizers.values():
            q.enabled = True

    def set_float(self, names: list[str], in_float: bool = True) -> None:
        """Keep these points (activation quantisers and/or convs, by name) in float, or quantise them again."""
        for name in names:
            if name in self.quantizers:
                self.quantizers[name].enabled = not in_float
            if name in self.convs:
                self.convs[name].__dict__["quantize_weight"] = not in_float

    @contextlib.contextmanager
    def float_mode(self) -> Iterator[None]:
        """Run the same weights unquantised inside the block (the fp32 file's function)."""
        names = [*self.quantizers, *self.convs]
        self.set_float(names)
        try:
            yield
        finally:
            self.set_float(names, in_float=False)

    def ranges(self) -> dict[str, tuple[float, float]]:
        return {name: q.range() for name, q in self.quantizers.items()}

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {name: torch.stack([q.lo, q.hi]).cpu() for name, q in self.quantizers.items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        for name, value in state.items():
            if name in self.quantizers:
                self.quantizers[name].lo.copy_(value[0])
                self.quantizers[name].hi.copy_(value[1])

    def remove(self) -> MobileDepth:
        """Detach every hook and weight quantiser; the folded float weights stay."""
        for handle in self._handles:
            handle.remove()
        for conv in self.convs.values():
            conv.__dict__.pop("forward", None)
            conv.__dict__.pop("quantize_weight", None)
            conv.__dict__.pop("input_scale", None)
        for module in self.model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.requires_grad_(True)
        self._handles, self.convs = [], {}
        return self.model
