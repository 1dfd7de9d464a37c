"""Writes test/data/tiny_model.pt, the TorchScript module workload_test loads.

A conv / group-norm / bicubic-upsample / pool / cumsum block on a 1x3x16x16 f32 input: small
(a few KB), seeded, and made of ops that the targets list asks MPS for (bicubic upsample,
cumsum), so a --fallback=emulate run on CUDA shows fallbacks through TorchScript too.

forward calls torch ops directly, not torch.nn.functional: a scripted F.interpolate carries
its whole Python body, which names every mode's op, and one this torch has may be unknown to
an older LibTorch (torch 2.13's interpolate names aten::_upsample_lanczos2d_aa, which 2.11
cannot load). Direct ops keep the file loadable by every LibTorch 2.x.

    .venv/bin/python test/data/make_tiny_model.py   # rewrites test/data/tiny_model.pt
"""
import pathlib

import torch


class TinyModel(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(8, 3, 3, 3) * 0.2)
        self.bias = torch.nn.Parameter(torch.zeros(8))
        self.norm_weight = torch.nn.Parameter(torch.ones(8))
        self.norm_bias = torch.nn.Parameter(torch.zeros(8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.conv2d(x, self.weight, self.bias, [1, 1], [1, 1])
        h = torch.relu(torch.group_norm(h, 2, self.norm_weight, self.norm_bias))
        h = torch.ops.aten.upsample_bicubic2d(h, [h.size(2) * 2, h.size(3) * 2], False)
        h = torch.ops.aten.avg_pool2d(h, [2, 2])
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
