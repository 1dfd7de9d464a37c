"""A small PyTorch program for tools/profile_run.sh: on a Mac with a working MPS device it runs
there, where torch.linalg.eig falls back to the CPU; anywhere else (no MPS, or an MPS that fails
its first op, as on GitHub's virtual Macs) on the CPU, where nothing can fall back."""
import sys

import torch


def pick_device():
    if torch.backends.mps.is_available():
        try:
            (torch.ones(4, device="mps") * 2).sum().item()
            return "mps"
        except RuntimeError as e:
            print(f"tiny: MPS is unusable here ({str(e).splitlines()[0]}); using the CPU", file=sys.stderr)
    return "cpu"


device = pick_device()
print(f"tiny: device {device}")
print("tiny: this line goes to stderr", file=sys.stderr)
torch.manual_seed(0)
x = torch.randn(64, 64, device=device)
for _ in range(3):
    y = torch.relu(x @ x.T)  # native everywhere
    w = torch.linalg.eig(y).eigenvalues  # falls back on MPS in torch 2.13
print(f"tiny: done, |w| = {w.abs().sum().item():.1f}")
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
