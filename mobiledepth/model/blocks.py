"""Building blocks. Module layouts mirror torchvision's MobileNetV2 so ``features.*`` keys line up."""

from __future__ import annotations

import torch
from torch import nn


class ConvBNAct(nn.Sequential):
    """conv -> BN -> ReLU6 as ``Sequential`` (keys ``.0`` conv, ``.1`` BN), torchvision's Conv2dNormActivation."""

    def __init__(
        self, cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1, act: bool = True
    ) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
        ]
        if act:
            layers.append(nn.ReLU6(inplace=True))
        super().__init__(*layers)


class InvertedResidual(nn.Module):
    """MobileNetV2 block; ``self.conv`` indices match torchvision (expand?, depthwise, project conv, BN).

    ``fused``: a full 3x3 conv cin -> hidden replaces expand + depthwise (fused-MBConv; see
    ``InvertedResidualSpec``), so ``self.conv`` is (3x3 conv, project conv, BN) like the t=1 block's.
    """

    def __init__(
        self,
        cin: int,
        hidden: int,
        cout: int,
        stride: int,
        expand: bool,
        residual: bool | None = None,
        fused: bool = False,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        if fused:
            layers.append(ConvBNAct(cin, hidden, 3, stride))
        elif expand:
            layers += [ConvBNAct(cin, hidden, 1), ConvBNAct(hidden, hidden, 3, stride, groups=hidden)]
        else:
            hidden = cin  # torchvision's t=1 block: depthwise runs on the input channels
            layers.append(ConvBNAct(hidden, hidden, 3, stride, groups=hidden))
        layers += [
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)
        self.use_res_connect = (stride == 1 and cin == cout) if residual is None else residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return x + y if self.use_res_connect else y


class FBNetBlock(nn.Module):
    """FBNet block: 1x1 expand + BN + ReLU -> optional nearest x2 -> kxk depthwise + BN + ReLU -> 1x1 + BN.

    Upsampling sits after the cheap 1x1 expansion and before the depthwise conv (as in the FBNet
    decoder of the method notes) so the spatial work at the higher resolution is depthwise only;
    ``upsample_at="output"`` moves it after the project conv (see ``DecoderStageSpec.upsample_at``).
    A residual add is used where the config says so (only possible when input and output shapes match).
    """

    def __init__(
        self,
        cin: int,
        hidden: int,
        cout: int,
        kernel: int = 3,
        upsample: bool = False,
        residual: bool | None = None,
        relu6: bool = False,
        upsample_at: str = "depthwise",
    ) -> None:
        super().__init__()
        act = nn.ReLU6 if relu6 else nn.ReLU  # ReLU6: a fixed [0, 6] range that int8 calibration can rely on
        self.expand = nn.Sequential(nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), act(inplace=True))
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest") if upsample else nn.Identity()
        self.depthwise = nn.Sequential(
            nn.Conv2d(hidden, hidden, kernel, 1, kernel // 2, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            act(inplace=True),
        )
        self.project = nn.Sequential(nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.use_res_connect = (not upsample and cin == cout) if residual is None else residual
        self.upsample_last = upsample_at == "output"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsample_last:
            y = self.upsample(self.project(self.depthwise(self.expand(x))))
        else:
            y = self.project(self.depthwise(self.upsample(self.expand(x))))
        return x + y if self.use_res_connect else y


class PredictionHead(nn.Module):
    """Intermediate (auxiliary) prediction: an FBNet upsampling block, then a 1x1 conv to one channel.

    Used only in training (paper Eq. 4); the exported graph has none.
    """

    def __init__(self, cin: int, hidden: int, cout: int) -> None:
        super().__init__()
        self.block = FBNetBlock(cin, hidden, cout, kernel=3, upsample=True)
        self.pred = nn.Conv2d(cout, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pred(torch.relu(self.block(x)))
