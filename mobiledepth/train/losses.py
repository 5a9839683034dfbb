"""The paper's losses (§3.2-§3.3). Predictions ``z`` are depth-like: larger = farther.

Pair tensors are ``(B, K, 5)`` float rows ``(y_A, x_A, y_B, x_B, r)`` in 0-based pixel coordinates of
the prediction, with r = +1 when A is farther ('>'), -1 when closer, 0 when equal; ``mask (B, K)``
marks real pairs (batches pad to the longest list).
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F

AUX_WEIGHTS = (0.5, 0.25, 0.25)  # final, first and second intermediate prediction (paper Eq. 4)


def _gather(z: torch.Tensor, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """z: (B, 1, H, W); y, x: (B, K) long -> (B, K)."""
    b, _, h, w = z.shape
    flat = z.reshape(b, h * w)
    return flat.gather(1, (y.clamp(0, h - 1) * w + x.clamp(0, w - 1)).long())


def pair_losses(z: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    """Per-pair ranking loss (Chen et al. 2016, paper Eq. 2): softplus(-r (z_A - z_B)), or (z_A - z_B)^2 for r = 0."""
    za = _gather(z, pairs[..., 0], pairs[..., 1])
    zb = _gather(z, pairs[..., 2], pairs[..., 3])
    r = pairs[..., 4]
    diff = za - zb
    return torch.where(r == 0, diff**2, F.softplus(-r * diff))


def ranking_loss(z: torch.Tensor, pairs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """DIW ranking loss: summed over pairs, divided by the number of pairs in the batch."""
    losses = pair_losses(z, pairs) * mask
    return losses.sum() / mask.sum().clamp_min(1)


def improved_ranking_loss(
    z: torch.Tensor, pairs: torch.Tensor, mask: torch.Tensor, drop_easiest: float = 0.25
) -> torch.Tensor:
    """ReDWeb's improved ranking loss (paper Eq. 3): per image, the easiest ``drop_easiest`` share of
    pairs (smallest loss) is ignored, so training concentrates on the pairs still wrong."""
    losses = pair_losses(z, pairs)
    total = z.new_zeros(())
    count = 0
    for b in range(z.shape[0]):
        valid = losses[b][mask[b] > 0]
        if valid.numel() == 0:
            continue
        keep = max(1, int(round(valid.numel() * (1 - drop_easiest))))
        total = total + valid.sort(descending=True).values[:keep].sum()
        count += keep
    return total / max(count, 1)


def sample_relative_pairs(
    depth: torch.Tensor,
    n: int,
    sigma: float = 0.02,
    generator: torch.Generator | None = None,
    disparity: bool = False,
    valid: torch.Tensor | None = None,
) -> torch.Tensor:
    """ReDWeb-style pairs from a dense (H, W) map: label +1 if g_A/g_B >= 1+sigma, -1 if g_B/g_A >= 1+sigma,
    else 0. For a disparity-like map the labels flip so that +1 still means 'A farther'."""
    h, w = depth.shape
    flat_valid = (valid if valid is not None else depth > 0).reshape(-1).nonzero().squeeze(1)
    if flat_valid.numel() < 2:
        return depth.new_zeros((0, 5))
    ia = flat_valid[torch.randint(flat_valid.numel(), (n,), generator=generator)]
    ib = flat_valid[torch.randint(flat_valid.numel(), (n,), generator=generator)]
    ga, gb = depth.reshape(-1)[ia], depth.reshape(-1)[ib]
    label = torch.zeros(n, dtype=depth.dtype)
    label[ga >= gb * (1 + sigma)] = 1.0
    label[gb >= ga * (1 + sigma)] = -1.0
    if disparity:
        label = -label
    return torch.stack(
        [
            (ia // w).to(depth.dtype),
            (ia % w).to(depth.dtype),
            (ib // w).to(depth.dtype),
            (ib % w).to(depth.dtype),
            label,
        ],
        dim=1,
    )


# ---- Mannequin Challenge (paper Eq. 1; Li et al. 2019) -------------------------------------------------
def scale_invariant_mse(log_pred: torch.Tensor, log_gt: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(1/N) sum d^2 - (1/N^2) (sum d)^2 per image with d = log pred - log gt, averaged over the batch."""
    d = (log_pred - log_gt) * mask
    n = mask.flatten(1).sum(1).clamp_min(1)
    return (d.flatten(1).pow(2).sum(1) / n - d.flatten(1).sum(1).pow(2) / n.pow(2)).mean()


def multiscale_gradient_loss(
    log_pred: torch.Tensor, log_gt: torch.Tensor, mask: torch.Tensor, scales: int = 4
) -> torch.Tensor:
    """sum over scales of mean |grad_x R| + |grad_y R| with R = log pred - log gt, on valid neighbours."""
    total = log_pred.new_zeros(())
    r, m = (log_pred - log_gt) * mask, mask
    for s in range(scales):
        if s:
            r, m = r[..., ::2, ::2], m[..., ::2, ::2]
        mx = m[..., :, 1:] * m[..., :, :-1]
        my = m[..., 1:, :] * m[..., :-1, :]
        gx = (r[..., :, 1:] - r[..., :, :-1]).abs() * mx
        gy = (r[..., 1:, :] - r[..., :-1, :]).abs() * my
        total = total + (gx.sum() + gy.sum()) / (mx.sum() + my.sum()).clamp_min(1)
    return total


def edge_aware_smoothness(z: torch.Tensor, image: torch.Tensor, scales: int = 3) -> torch.Tensor:
    """sum over scales of 2^-s * (mean |dz/dx| exp(-|dI/dx|) + mean |dz/dy| exp(-|dI/dy|)); z mean-normalised
    per image so the term cannot be lowered by shrinking the prediction."""
    total = z.new_zeros(())
    z = z / z.abs().mean(dim=(2, 3), keepdim=True).clamp_min(1e-6)
    for s in range(scales):
        if s:
            z = F.avg_pool2d(z, 2)
            image = F.avg_pool2d(image, 2)
        dzx = (z[..., :, 1:] - z[..., :, :-1]).abs()
        dzy = (z[..., 1:, :] - z[..., :-1, :]).abs()
        dix = (image[..., :, 1:] - image[..., :, :-1]).abs().mean(1, keepdim=True)
        diy = (image[..., 1:, :] - image[..., :-1, :]).abs().mean(1, keepdim=True)
        total = total + ((dzx * torch.exp(-dix)).mean() + (dzy * torch.exp(-diy)).mean()) / 2**s
    return total


def mc_loss(
    z: torch.Tensor, depth: torch.Tensor, mask: torch.Tensor, image: torch.Tensor, a1: float = 0.5, a2: float = 0.1
) -> torch.Tensor:
    """L_si = L_mse + a1 L_grad + a2 L_sm. The network output is read as log depth here."""
    log_gt = torch.log(depth.clamp_min(1e-6))
    return (
        scale_invariant_mse(z, log_gt, mask)
        + a1 * multiscale_gradient_loss(z, log_gt, mask)
        + a2 * edge_aware_smoothness(z, image)
    )


# ---- dense structure (MiDaS, Ranftl et al. 2020) --------------------------------------------------------
def _standardise(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per image: minus the median, divided by the mean absolute deviation, over the valid pixels. Unlike a
    least-squares fit of scale and shift, this keeps the sign: an inverted map cannot satisfy the loss."""
    out = torch.zeros_like(x)
    for b in range(x.shape[0]):
        valid = mask[b] > 0
        if valid.sum() < 2:
            continue
        v = x[b][valid]
        median = v.median()
        out[b] = (x[b] - median) / (v - median).abs().mean().clamp_min(1e-6)
    return out * mask


def ssi_loss(z: torch.Tensor, depth: torch.Tensor, mask: torch.Tensor, grad_weight: float = 0.5) -> torch.Tensor:
    """Scale- and shift-invariant loss on disparity plus multi-scale gradient matching: every pixel says where
    the map must be flat and where it must step, which 800 sampled pairs cannot (they leave texture edges
    in the prediction unpunished). ``z`` is depth-like (larger = farther), so nearness is ``-z``; disparity
    puts the weight on near things (the sky's 1/400 is nearly zero) as photographs do."""
    disparity = torch.where(mask > 0, 1.0 / depth.clamp_min(1e-6), torch.zeros_like(depth))
    pred, gt = _standardise(-z, mask), _standardise(disparity, mask)
    data = ((pred - gt).abs() * mask).sum() / mask.sum().clamp_min(1)
    return data + grad_weight * multiscale_gradient_loss(pred, gt, mask)


# ---- distillation (paper Eq. 5; Liu et al. structured KD) ------------------------------------------------
def pixelwise_rmse(student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    diff2 = (student - teacher) ** 2
    if mask is not None:
        return torch.sqrt((diff2 * mask).sum() / mask.sum().clamp_min(1) + 1e-12)
    return torch.sqrt(diff2.mean() + 1e-12)


def _similarity(feat: torch.Tensor, beta: float) -> torch.Tensor:
    h, w = feat.shape[-2:]
    kh, kw = max(1, int(h * beta)), max(1, int(w * beta))
    pooled = F.max_pool2d(feat, kernel_size=(kh, kw), stride=(kh, kw), ceil_mode=True)
    v = pooled.flatten(2)  # B, C, N
    v = v / (v.norm(dim=1, keepdim=True) + 1e-8)
    return v.transpose(1, 2) @ v  # B, N, N cosine similarities


def pairwise_feature_loss(student_feat: torch.Tensor, teacher_feat: torch.Tensor, beta: float = 0.5) -> torch.Tensor:
    """mean over the batch of sum_ij (a^T_ij - a^S_ij)^2 / N^2; channel counts may differ, spatial sizes must match."""
    if student_feat.shape[-2:] != teacher_feat.shape[-2:]:
        raise ValueError(
            f"pair-wise distillation needs equal spatial sizes, got {tuple(student_feat.shape[-2:])} and "
            f"{tuple(teacher_feat.shape[-2:])}"
        )
    a_s, a_t = _similarity(student_feat, beta), _similarity(teacher_feat, beta)
    n = a_s.shape[-1]
    return ((a_t - a_s) ** 2).sum(dim=(1, 2)).div(n * n).mean()


def with_intermediate(
    loss: Callable[..., torch.Tensor],
    predictions: Sequence[torch.Tensor],
    *args,
    weights: Sequence[float] = AUX_WEIGHTS,
    **kwargs,
) -> torch.Tensor:
    """Eq. 4: the same loss on the final and intermediate predictions with fixed weights (0.5, 0.25, 0.25).
    Without heads (pruned or exported models) the final prediction gets weight 1."""
    if len(predictions) == 1:
        return loss(predictions[0], *args, **kwargs)
    if len(predictions) != len(weights):
        raise ValueError(f"{len(predictions)} predictions but {len(weights)} weights")
    return sum(w * loss(p, *args, **kwargs) for w, p in zip(weights, predictions))
