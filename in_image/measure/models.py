"""The lab 01 model: the multilayer perceptron students train on scikit-learn's 8x8 handwritten digits.

Kept here (not imported from the lab) so the benchmark and the smoke test do not depend on the
notebooks; it matches labs/source/01-perceptron-multicapa.ipynb: crear_modelo(64, NEURONAS_OCULTAS=64, 10),
two hidden ReLU layers, 10 class logits fed to CrossEntropyLoss (no softmax before it), Adam with
TASA_APRENDIZAJE=3e-3, batches of TAM_LOTE=64.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

INPUTS = 64
CLASSES = 10
HIDDEN = (64, 64)
LEARNING_RATE = 3e-3
LAB_BATCH = 64


def lab01_mlp() -> nn.Sequential:
    layers: list[nn.Module] = []
    width = INPUTS
    for hidden in HIDDEN:
        layers += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    layers.append(nn.Linear(width, CLASSES))
    return nn.Sequential(*layers)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def training_step(*, device: torch.device, batch: int, seed: int = 0) -> tuple[Callable[[], torch.Tensor], nn.Module]:
    """A closure doing one optimiser step of the lab 01 MLP on a fixed synthetic batch; returns (step, model)."""
    generator = torch.Generator().manual_seed(seed)
    model = lab01_mlp()
    with torch.no_grad():  # seeded initialisation, independent of the global RNG
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.1)
    model = model.to(device)
    # Digit images hold grey levels 0..16, scaled to [0, 1] as the lab does.
    inputs = (torch.randint(0, 17, (batch, INPUTS), generator=generator).float() / 16).to(device)
    targets = torch.randint(0, CLASSES, (batch,), generator=generator).to(device)
    loss_fn = nn.CrossEntropyLoss()
    optimiser = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)

    def step() -> torch.Tensor:
        optimiser.zero_grad(set_to_none=True)
        loss: torch.Tensor = loss_fn(model(inputs), targets)
        loss.backward()  # type: ignore[no-untyped-call]
        optimiser.step()
        return loss.detach()

    return step, model
