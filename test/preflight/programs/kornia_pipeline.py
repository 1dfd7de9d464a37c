"""A real program from an installed package (kornia 0.9.0): geometry and filtering of kornia,
and a short training step of a small CNN with torch.optim, on the CPU. The preflight judges what
it would do on MPS (test/preflight/test_preflight.py, docs/results/preflight-*)."""

import torch
import kornia
from kornia.geometry.epipolar import find_essential
from kornia.geometry.homography import find_homography_dlt

torch.manual_seed(0)
points1 = torch.rand(2, 8, 2)
points2 = torch.rand(2, 8, 2)
essential = find_essential(points1, points2, torch.ones(2, 8))       # 5-point solver
homography = find_homography_dlt(points1, points2)                   # DLT, a linear solve
images = torch.rand(2, 3, 32, 32)
blurred = kornia.filters.gaussian_blur2d(images, (5, 5), (1.5, 1.5))
edges = kornia.filters.sobel(kornia.color.rgb_to_grayscale(blurred))
warped = kornia.geometry.transform.warp_perspective(images, homography, (32, 32))

net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
                          torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 2))
optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3)
for _ in range(3):
    loss = torch.nn.functional.cross_entropy(net(warped), torch.tensor([0, 1]))
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
print("essential", tuple(essential.shape), "homography", tuple(homography.shape), "edges", tuple(edges.shape))
