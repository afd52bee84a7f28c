"""The CUDA release torch was built for: None in the CPU image."""

import torch

print(torch.version.cuda)
