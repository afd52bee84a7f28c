"""The image's torch release, without its local suffix (2.13.0, not 2.13.0+cpu)."""

import torch

print(torch.__version__.split("+")[0])
