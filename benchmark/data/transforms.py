"""Image helpers shared by the vision tasks: patching and the paper's train-time augmentation.

torchvision does not install here, so the augmentation the FPT code used (``RandomCrop(32,
padding=4)``, ``RandomHorizontalFlip()``, ``RandomRotation(20)``, in that order, on [0, 1] floats
before normalisation) is re-implemented with torch ops, batched. Every random draw comes from the
numpy generator the harness passes (seeded by run seed and step), never from global RNG state, so a
resumed run sees the same augmented batches.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import FptError


def patchify(images: torch.Tensor, patch: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, (H/p)(W/p), p*p*C): patches in row-major order, each flattened as
    (p1, p2, c) like the reference's ``rearrange('b c (h p1) (w p2) -> b (h w) (p1 p2 c)')``."""
    b, c, h, w = images.shape
    if h % patch or w % patch:
        raise FptError(f"image {h}x{w} is not divisible into {patch}x{patch} patches")
    x = images.reshape(b, c, h // patch, patch, w // patch, patch)  # b c h p1 w p2
    x = x.permute(0, 2, 4, 3, 5, 1)  # b h w p1 p2 c
    return x.reshape(b, (h // patch) * (w // patch), patch * patch * c)


def unpatchify(tokens: torch.Tensor, patch: int, channels: int, height: int, width: int) -> torch.Tensor:
    """Inverse of ``patchify``."""
    b = tokens.shape[0]
    x = tokens.reshape(b, height // patch, width // patch, patch, patch, channels)  # b h w p1 p2 c
    x = x.permute(0, 5, 1, 3, 2, 4)  # b c h p1 w p2
    return x.reshape(b, channels, height, width)


def random_crop(images: torch.Tensor, rng: np.random.Generator, padding: int = 4) -> torch.Tensor:
    """torchvision ``RandomCrop(size, padding)``: zero-pad each side, then crop the original size at
    an offset drawn uniformly from [0, 2*padding] on each axis."""
    b, c, h, w = images.shape
    padded = F.pad(images, (padding, padding, padding, padding))
    offs = rng.integers(0, 2 * padding + 1, size=(b, 2))
    rows = torch.as_tensor(offs[:, 0])[:, None] + torch.arange(h)[None, :]  # (b, h)
    cols = torch.as_tensor(offs[:, 1])[:, None] + torch.arange(w)[None, :]  # (b, w)
    bi = torch.arange(b)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[bi, rows[:, :, None], cols[:, None, :]]  # (b, h, w, c)
    return out.permute(0, 3, 1, 2).contiguous()


def random_hflip(images: torch.Tensor, rng: np.random.Generator, p: float = 0.5) -> torch.Tensor:
    flip = torch.as_tensor(rng.random(images.shape[0]) < p)
    return torch.where(flip[:, None, None, None], images.flip(-1), images)


def rotate(images: torch.Tensor, degrees: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Rotate each image counter-clockwise by its angle about the centre, nearest-neighbour, zero
    fill: torchvision ``rotate``'s defaults (``InterpolationMode.NEAREST``, ``fill=0``)."""
    theta = torch.as_tensor(np.asarray(degrees, dtype=np.float64) * math.pi / 180.0, dtype=torch.float32)
    cos, sin = torch.cos(theta), torch.sin(theta)
    zero = torch.zeros_like(cos)
    # affine_grid maps output coords to input coords: the inverse rotation of a counter-clockwise turn
    # in image coordinates (y pointing down).
    mat = torch.stack([torch.stack([cos, -sin, zero], -1), torch.stack([sin, cos, zero], -1)], 1)
    grid = F.affine_grid(mat, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def random_rotation(images: torch.Tensor, rng: np.random.Generator, degrees: float = 20.0) -> torch.Tensor:
    """torchvision ``RandomRotation(degrees)``: an angle uniform in [-degrees, degrees] per image."""
    return rotate(images, rng.uniform(-degrees, degrees, size=images.shape[0]))


def fpt_augment(images: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """The FPT CIFAR-10 train augmentation, in the reference's order: crop(pad 4), flip, rotate 20."""
    return random_rotation(random_hflip(random_crop(images, rng, 4), rng), rng, 20.0)


def to_float_chw(rows: np.ndarray) -> torch.Tensor:
    """uint8 images (B, H, W, C) or (B, H, W) -> float (B, C, H, W) on [0, 1] (torchvision ToTensor)."""
    x = torch.from_numpy(np.array(rows, dtype=np.uint8)).float().div_(255.0)  # copy: memmaps are read-only
    return x[:, None] if x.ndim == 3 else x.permute(0, 3, 1, 2)


__all__ = ["patchify", "unpatchify", "random_crop", "random_hflip", "rotate", "random_rotation", "fpt_augment",
           "to_float_chw"]
