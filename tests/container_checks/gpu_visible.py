"""Whether torch sees a GPU, and how many: "False 0" in a container given none, with no warning printed."""

import torch

print(torch.cuda.is_available(), torch.cuda.device_count())
