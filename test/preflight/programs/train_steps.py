"""A long training loop (20 optimizer steps) whose every step calls an op MPS lacks in torch 2.13
(linalg_eig): tools/preflight.sh --steps=N records only N of them."""

import torch

torch.manual_seed(0)
model = torch.nn.Linear(6, 6)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(20):
    x = torch.rand(4, 6)
    eigenvalues = torch.linalg.eigvals(model.weight.detach())  # a spectral check each step
    loss = (model(x) ** 2).mean() + eigenvalues.abs().sum().real * 0
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
print("done", step + 1, "steps")
