"""DL_LAB_TORCHVISION (the lock's word on torchvision), then torchvision's release and a C++ operator's result
(non-maximum suppression keeps box 0), or "not installed"."""

import importlib.util
import os

print(os.environ["DL_LAB_TORCHVISION"])
if importlib.util.find_spec("torchvision"):
    import torch
    import torchvision

    keep = torchvision.ops.nms(torch.tensor([[0.0, 0, 1, 1], [0, 0, 1, 1]]), torch.tensor([0.9, 0.8]), 0.5)
    print(torchvision.__version__.split("+")[0], keep.tolist())
else:
    print("not installed")
