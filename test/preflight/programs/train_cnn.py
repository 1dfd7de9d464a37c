"""A steady training workload for the profiler's overhead (docs/preflight.md, "Measured"): kornia
augmentation and a small CNN, 30 AdamW steps on 16 images of 64x64, on the CPU."""

import time

import kornia.augmentation as K
import torch

torch.manual_seed(0)
augment = torch.nn.Sequential(K.RandomHorizontalFlip(), K.RandomAffine(degrees=10.0), K.ColorJitter(0.1, 0.1, 0.1))
net = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.BatchNorm2d(16), torch.nn.ReLU(),
                          torch.nn.MaxPool2d(2), torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(),
                          torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(32, 10))
optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3)
images, labels = torch.rand(16, 3, 64, 64), torch.randint(0, 10, (16,))
t0 = time.perf_counter()
for step in range(30):
    loss = torch.nn.functional.cross_entropy(net(augment(images)), labels)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
print("train_cnn: 30 steps in %.3f s, loss %.3f" % (time.perf_counter() - t0, loss.item()))
