"""The major CUDA release torch was built for (12 for 12.8)."""

import torch

print(str(torch.version.cuda).split(".")[0])
