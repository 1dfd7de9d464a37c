"""A program that falls over after some work: its exit status is kept and its report is partial."""

import sys

import torch

torch.linalg.eig(torch.rand(3, 3))
print("about to fail", flush=True)
sys.stderr.write("fails.py: giving up\n")
raise RuntimeError("the program's own error")
