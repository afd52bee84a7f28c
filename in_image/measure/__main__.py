"""`python -m in_image.measure`: this machine's facts as JSON on stdout (torch, CUDA, driver, CPU, GPUs, why no GPU)."""

from __future__ import annotations

import json
import sys

import torch

from in_image.measure.system import environment


def main() -> int:
    print(json.dumps(environment(threads=torch.get_num_threads()), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
