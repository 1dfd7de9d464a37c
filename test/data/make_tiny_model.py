"""Writes test/data/tiny_model.pt, the TorchScript module workload_test loads.

A conv / group-norm / bicubic-upsample / pool / cumsum block on a 1x3x16x16 f32 input: small
(a few KB), seeded, and made of ops that the targets list asks MPS for (bicubic upsample,
cumsum), so a --fallback=emulate run on CUDA shows fallbacks through TorchScript too.

    .venv/bin/python test/data/make_tiny_model.py   # rewrites test/data/tiny_model.pt
"""
import pathlib

import torch
import torch.nn.functional as F


class TinyModel(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, kernel_size=3, padding=1)
        self.norm = torch.nn.GroupNorm(2, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.norm(self.conv(x)))
        h = F.interpolate(h, scale_factor=2.0, mode="bicubic", align_corners=False)
        h = F.avg_pool2d(h, 2)
        return torch.cumsum(h.flatten(1), dim=1)


def main() -> None:
    torch.manual_seed(0)
    model = torch.jit.script(TinyModel().eval())
    out = pathlib.Path(__file__).with_name("tiny_model.pt")
    torch.jit.save(model, str(out))
    y = torch.jit.load(str(out))(torch.randn(1, 3, 16, 16))
    print(f"wrote {out} ({out.stat().st_size} bytes, torch {torch.__version__}); output {tuple(y.shape)}")


if __name__ == "__main__":
    main()
