"""torch.compile on the CPU: inductor generates C++, builds it with the image's g++ against Python.h and
torch's headers, and loads it; the compiled function must compute sin² + cos² = 1."""

import torch


@torch.compile
def f(x: torch.Tensor) -> torch.Tensor:
    return torch.sin(x) ** 2 + torch.cos(x) ** 2


x = torch.randn(1000)
print(bool(torch.allclose(f(x), torch.ones(1000))))
