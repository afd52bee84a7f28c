"""`make bench-image`: the image figures of docs/measurements.md.

- size of each built image (uncompressed, as `docker images` shows it), against its budget;
- from `docker run` to the server answering its API, median over several starts;
- rebuild time of the CPU image after editing one notebook (the edit is undone afterwards,
  and the image rebuilt, so the image matches the repository again).
Writes reports/bench-image.json and prints a table.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import statistics
import time
from pathlib import Path
from typing import Any

import docker
from rich.table import Table

from harness.config import REPO_ROOT, REPORTS_DIR, VARIANTS, facts
from harness.engine.containers import docker_client, not_built, running_container
from harness.engine.waiting import wait_until
from harness.images.lab_image import build_image, prepare_build
from harness.lab.launcher import server_answers
from harness.ui import stderr_console

# With the compiler toolchain torch.compile needs, torchvision, pandas, ipywidgets and the terminal's tools.
SIZE_BUDGET_GB = {"cpu": 1.8, "cuda": 6.5}
START_RUNS = 7
EDITED_NOTEBOOK = REPO_ROOT / "labs" / "source" / "00-introduccion.ipynb"


def time_to_api(client: docker.DockerClient, image: str) -> float:
    """Seconds from `docker run` (create + start) until GET /api/status answers 200 with the token."""
    token = secrets.token_hex(16)
    port_key = f"{facts().jupyter_port}/tcp"
    started = time.perf_counter()
    with running_container(client, image, component="bench", environment={"JUPYTER_TOKEN": token},
                           ports={port_key: ("127.0.0.1", None)}) as container:
        container.reload()
        port = container.attrs["NetworkSettings"]["Ports"][port_key][0]["HostPort"]
        url = f"http://127.0.0.1:{port}/api/status?token={token}"
        wait_until(lambda: server_answers(url), timeout_s=60, interval_s=0.02, what=f"{image} to answer")
        return time.perf_counter() - started


def replace_file(path: Path, content: bytes) -> None:
    """Write a file whole (a temporary beside it, then a rename): a reader never sees half of it."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    temporary.write_bytes(content)
    os.replace(temporary, path)


def time_rebuild_after_notebook_edit() -> dict[str, float]:
    """Only the rebuild is timed: the wheelhouse is fetched first (an image can outlive it) and the image
    built once from the repository as it is (a fetched wheelhouse misses the builder's cache once).
    The edited image is removed after the revert rebuild (unless a container still uses it)."""
    prepare_build("cpu", stderr_console())
    build_image("cpu", prepare=False)
    client = docker_client()
    original = EDITED_NOTEBOOK.read_bytes()
    notebook = json.loads(original)
    markdown = next(cell for cell in notebook["cells"] if cell["cell_type"] == "markdown")
    source = markdown["source"]
    markdown["source"] = (source if isinstance(source, str) else "".join(source)) + " "
    try:
        replace_file(EDITED_NOTEBOOK, (json.dumps(notebook, indent=1, ensure_ascii=False) + "\n").encode())
        started = time.perf_counter()
        edited_image = client.images.get(build_image("cpu", prepare=False)).id
        edited = time.perf_counter() - started
    finally:
        replace_file(EDITED_NOTEBOOK, original)
    started = time.perf_counter()
    reverted_image = client.images.get(build_image("cpu", prepare=False)).id
    reverted = time.perf_counter() - started
    if edited_image != reverted_image:
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(edited_image)
    return {"rebuild_after_edit_s": edited, "rebuild_after_revert_s": reverted}


def measure() -> int:
    """Measure, print the table and write reports/bench-image.json; the exit code."""
    console = stderr_console()
    client = docker_client()
    results: dict[str, Any] = {"images": {}, "machine_cores": os.cpu_count()}
    for variant in VARIANTS:
        reference = facts().image(variant)
        try:
            image = client.images.get(reference)
        except docker.errors.ImageNotFound:
            continue
        labels = image.labels
        results["images"][variant] = {"image": reference, "size_gb": round(float(image.attrs["Size"]) / 1e9, 3),
                                      "budget_gb": SIZE_BUDGET_GB[variant],
                                      "cuda_version": labels.get(facts().label("cuda-version")),
                                      "torchvision": labels.get(facts().label("torchvision"), "(image predates the label)")}
    cpu_image = facts().image("cpu")
    if "cpu" not in results["images"]:
        raise not_built(cpu_image, make_target="image-cpu")
    with console.status("timing docker run → API answering"):
        time_to_api(client, cpu_image)  # warm the page cache once
        samples = [time_to_api(client, cpu_image) for _ in range(START_RUNS)]
    results["start_to_api_s"] = {"median": statistics.median(samples), "min": min(samples), "max": max(samples),
                                 "runs": len(samples), "image": cpu_image}
    results["rebuild"] = time_rebuild_after_notebook_edit()
    REPORTS_DIR.mkdir(exist_ok=True)
    out = REPORTS_DIR / "bench-image.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    table = Table(title="dl-lab image figures")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    for entry in results["images"].values():
        table.add_row(f"{entry['image']} size (uncompressed)", f"{entry['size_gb']:.2f} GB", f"≤ {entry['budget_gb']} GB")
        table.add_row(f"{entry['image']} torchvision", entry["torchvision"], "")
    start = results["start_to_api_s"]
    table.add_row(f"docker run → API answers (median of {start['runs']})", f"{start['median']:.2f} s", "< 3 s")
    table.add_row("rebuild after editing one notebook", f"{results['rebuild']['rebuild_after_edit_s']:.1f} s", "< 15 s")
    console.print(table)
    console.print(f"written to {Path(out).relative_to(REPO_ROOT)}")
    return 0

