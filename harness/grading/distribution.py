"""The gradebook's distribution plot, drawn in the CPU lab image (which has matplotlib; the host's venv does not).

The way `harness bench` draws its figure: a fresh container of the image, labelled, without network,
running as the calling user, removed afterwards. Its input (the data and the drawing script,
in_image/draw_distribution.py: it runs in the image) is mounted read-only, and it writes only into a temporary
folder of its own, from which the PNG is copied. Needs docker-py and an engine, imported only here.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from harness.config import facts
from harness.errors import HarnessError

log = logging.getLogger(__name__)

COMPONENT = "gradebook"
SCRIPT = Path(__file__).resolve().parents[2] / "in_image" / "draw_distribution.py"
TIMEOUT_S = 180


def draw_distribution(data: dict[str, Any], target: Path, *, timeout_s: int = TIMEOUT_S) -> Path:
    """Draw `data` (gradebook.plot_data) into `target` (a PNG) in a container of the CPU image."""
    import docker.errors  # noqa: PLC0415 (docker-py only when a plot is drawn)
    import requests.exceptions  # noqa: PLC0415

    from harness.engine.containers import docker_client, require_image, running_container  # noqa: PLC0415

    client = docker_client(timeout=timeout_s + 30)
    image = facts().image("cpu")
    require_image(client, image, make_target="image-cpu")
    with tempfile.TemporaryDirectory(prefix="dl-lab-plot-") as folder:
        given, drawn = Path(folder) / "in", Path(folder) / "out"
        given.mkdir()
        drawn.mkdir()
        (given / "data.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        shutil.copyfile(SCRIPT, given / SCRIPT.name)
        options: dict[str, Any] = {
            "entrypoint": ["tini", "-g", "--"],
            "command": ["python", f"/in/{SCRIPT.name}", "/in/data.json", "/out/distribution.png"],
            "user": f"{os.getuid()}:{os.getgid()}",
            "environment": {"HOME": "/tmp", "MPLCONFIGDIR": "/tmp/matplotlib"},
            "working_dir": "/tmp",
            "network_mode": "none",
            "volumes": {str(given): {"bind": "/in", "mode": "ro"}, str(drawn): {"bind": "/out", "mode": "rw"}},
        }
        with running_container(client, image, component=COMPONENT, **options) as container:
            try:
                status = container.wait(timeout=timeout_s)
            except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
                raise HarnessError(f"drawing the distribution plot took over {timeout_s} s in {image}") from None
            except docker.errors.APIError as error:
                raise HarnessError(f"drawing the distribution plot failed in {image}: {error}") from None
            logs = container.logs().decode(errors="replace").strip()
        png = drawn / "distribution.png"
        if int(status.get("StatusCode", 1)) != 0 or not png.is_file():
            last = logs.splitlines()[-1] if logs else "no output"
            raise HarnessError(f"drawing the distribution plot failed in {image}: {last}")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, target)
    log.info("drew %s in %s", target, image)
    return target
