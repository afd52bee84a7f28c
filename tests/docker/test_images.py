"""The lab images, with a real engine and real containers: conventions, security, contents."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import docker
import pytest

from harness.config import Variant, facts
from harness.engine.containers import run_in
from harness.engine.waiting import wait_until
from harness.images import wheels
from tests.utils.jupyter import container_check, jupyter_server, run_in_image

pytestmark = pytest.mark.docker

LAB_NOTEBOOKS = ("00-introduccion.ipynb", "01-perceptron-multicapa.ipynb")


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("org.dl-lab.variant", "cpu"),
        ("org.dl-lab.torch-version", facts().torch_version),
        ("org.dl-lab.cuda-version", "none"),
        ("org.opencontainers.image.version", facts().course_version),
    ],
)
def test_cpu_image_labels(docker_engine: docker.DockerClient, cpu_image: str, label: str, expected: str) -> None:
    labels = docker_engine.images.get(cpu_image).labels
    assert labels.get(label) == expected, f"{cpu_image} label {label} is {labels.get(label)!r}, expected {expected!r}"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["id", "-un"], "jovyan"),
        (["id", "-u"], str(facts().nb_uid)),
        (["id", "-g"], str(facts().nb_gid)),
        (["sh", "-c", "echo $HOME"], "/home/jovyan"),
        (["sh", "-c", "cat /proc/1/comm"], "tini"),
        (container_check("torch_version"), facts().torch_version),
        (container_check("torch_cuda"), "None"),
        (["sh", "-c", "for c in jupyterhub-singleuser start-notebook.py start-singleuser.py start-notebook.sh"
                      " start-singleuser.sh; do command -v $c; done | wc -l"], "5"),
    ],
    ids=["user", "uid", "gid", "home", "pid1-tini", "torch-version", "cpu-torch", "start-commands"],
)
def test_cpu_image_runtime(
    docker_engine: docker.DockerClient, cpu_image: str, command: list[str], expected: str
) -> None:
    status, output = run_in_image(docker_engine, cpu_image, command)
    assert status == 0, f"{command} failed in {cpu_image}: {output}"
    assert output.strip().splitlines()[-1] == expected, f"{command} printed {output!r}, expected {expected!r}"


def test_cpu_image_has_no_cuda_libraries(docker_engine: docker.DockerClient, cpu_image: str) -> None:
    script = (
        "find / -xdev \\( -name 'libcudart*' -o -name 'libcublas*' -o -name 'libcudnn*' -o -name 'libnccl*' \\)"
        " -print 2>/dev/null;"
        " ls /opt/venv/lib/python3.11/site-packages | grep -i '^nvidia' || true"
    )
    status, output = run_in_image(docker_engine, cpu_image, ["sh", "-c", script])
    assert status == 0, output
    assert output.strip() == "", f"the CPU image holds CUDA libraries: {output.strip()[:500]}"


def test_course_notebooks_are_baked_in_read_only(docker_engine: docker.DockerClient, cpu_image: str) -> None:
    script = f"cd {facts().labs_dir} && ls && stat -c '%U %a' {LAB_NOTEBOOKS[0]} && (touch {LAB_NOTEBOOKS[0]} 2>&1 || true)"
    status, output = run_in_image(docker_engine, cpu_image, ["sh", "-c", script])
    assert status == 0, output
    for notebook in LAB_NOTEBOOKS:
        assert notebook in output, f"{notebook} missing from {facts().labs_dir}: {output}"
    assert "root 644" in output, f"course notebooks must be root-owned and read-only for jovyan: {output}"
    assert "Permission denied" in output, f"jovyan could write a course notebook: {output}"


def test_server_refuses_requests_without_the_token(docker_engine: docker.DockerClient, cpu_image: str) -> None:
    refused = [r"\[W .* ServerApp\] wrote error: 'Forbidden'", r"\[W .* ServerApp\] 403 GET /api/contents "]
    with jupyter_server(docker_engine, cpu_image, expected_log=refused) as server:
        cases = {"no token": "", "wrong token": "not-the-token", "right token": None}
        statuses = {name: server.request("/api/contents", token=token)[0] for name, token in cases.items()}
        assert statuses == {"no token": 403, "wrong token": 403, "right token": 200}, f"API statuses by token: {statuses}"
        # Started as the image's user, nothing in the container runs as root.
        list_root = "for d in /proc/[0-9]*; do [ \"$(awk '/^Uid/{print $2}' $d/status)\" = 0 ] && cat $d/comm; done; true"
        root_processes = run_in(server.container, ["sh", "-c", list_root], timeout_s=30, user="jovyan")[1].split()
        assert root_processes == [], f"processes running as root: {root_processes}"


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"JUPYTER_TOKEN": ""}, "JUPYTER_TOKEN is empty"),
        ({"JUPYTER_TOKEN": "x", "NB_UID": "0"}, "NB_UID=0 is refused"),
    ],
    ids=["empty-token", "root-uid"],
)
def test_unsafe_start_is_refused(
    docker_engine: docker.DockerClient, cpu_image: str, environment: dict[str, str], message: str
) -> None:
    status, output = run_in_image(docker_engine, cpu_image, [], user="root", environment=environment)
    assert status != 0, f"the image started with {environment}: {output[-500:]}"
    assert message in output, f"expected {message!r} in the refusal, got: {output[-500:]}"


def test_nb_uid_remapping_owns_work_files(docker_engine: docker.DockerClient, cpu_image: str, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    os.chmod(work, 0o777)
    uid, gid = 1234, 4321
    with jupyter_server(
        docker_engine, cpu_image, user="root", environment={"NB_UID": str(uid), "NB_GID": str(gid)},
        volumes={str(work): {"bind": "/home/jovyan/work", "mode": "rw"}},
    ) as server:
        status, _ = server.request("/api/contents/work/creado.txt", method="PUT",
                                   body={"type": "file", "format": "text", "content": "hola"})
        assert status in (200, 201), f"could not create a file through the API: {status}"
    created = work / "creado.txt"
    assert created.exists(), f"the file did not reach the bind mount; work has {sorted(p.name for p in work.iterdir())}"
    owner = (created.stat().st_uid, created.stat().st_gid)
    assert owner == (uid, gid), f"work file owned by {owner}, expected NB_UID/NB_GID {(uid, gid)}"
    copied = work / LAB_NOTEBOOKS[0]
    assert copied.exists() and copied.stat().st_uid == uid, "course notebooks were not copied into work as the user"
    assert stat.S_IMODE(copied.stat().st_mode) & stat.S_IWUSR, "the student's copy of a notebook must be writable"


def test_work_survives_removal_and_is_never_overwritten(
    docker_engine: docker.DockerClient, cpu_image: str, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    os.chown(work, facts().nb_uid, facts().nb_gid)
    mount = {str(work): {"bind": "/home/jovyan/work", "mode": "rw"}}
    notebook = f"work/{LAB_NOTEBOOKS[0]}"
    saved = [r"\[W .* ServerApp\] Notebook work/.* is not trusted"]  # the student's edit, saved through the API
    with jupyter_server(docker_engine, cpu_image, volumes=mount, expected_log=saved) as server:
        status, model = server.request(f"/api/contents/{notebook}")
        assert status == 200, f"{notebook} was not copied into the work folder on first start"
        model["content"]["cells"].insert(0, {"cell_type": "markdown", "id": "mi-respuesta", "metadata": {},
                                             "source": "Mi respuesta"})
        status, _ = server.request(f"/api/contents/{notebook}", method="PUT",
                                   body={"type": "notebook", "format": "json", "content": model["content"]})
        assert status == 200, f"saving the edited notebook failed: {status}"
    # A new container (as after `docker rm` and a newer image) sees the student's version, not the image's.
    with jupyter_server(docker_engine, cpu_image, volumes=mount, expected_log=saved) as server:
        status, model = server.request(f"/api/contents/{notebook}")
        assert status == 200
        first = model["content"]["cells"][0]["source"]
        assert first == "Mi respuesta", f"the student's edit was lost after a restart; first cell is {first!r}"


def test_a_link_named_like_a_course_notebook_is_the_students_and_the_server_starts(
    docker_engine: docker.DockerClient, cpu_image: str, tmp_path: Path
) -> None:
    """A dangling link (its target in /tmp, gone at the next start) and a link to a file outside the work
    folder, named like course notebooks: both are the student's files, nothing is written through them, and
    the server starts (a dangling link used to stop start.sh before Jupyter)."""
    work = tmp_path / "work"
    work.mkdir()
    (work / LAB_NOTEBOOKS[0]).symlink_to("/tmp/copia-perdida.ipynb")
    (work / LAB_NOTEBOOKS[1]).symlink_to("/home/jovyan/.bashrc")
    os.chown(work, facts().nb_uid, facts().nb_gid)
    for link in (work / LAB_NOTEBOOKS[0], work / LAB_NOTEBOOKS[1]):
        os.lchown(link, facts().nb_uid, facts().nb_gid)
    mount = {str(work): {"bind": "/home/jovyan/work", "mode": "rw"}}
    with jupyter_server(docker_engine, cpu_image, volumes=mount) as server:
        status, listing = server.request("/api/contents/work")
        assert status == 200, f"the server started but cannot list the work folder: {status}"
        code, bashrc = run_in(server.container, ["sh", "-c", "head -c 200 /home/jovyan/.bashrc"], timeout_s=30)
    assert code == 0 and '"nbformat"' not in bashrc, "a course notebook was written through the student's link"
    for name in LAB_NOTEBOOKS[:2]:
        assert (work / name).is_symlink(), f"the student's link {name} was replaced"
    assert not (work / LAB_NOTEBOOKS[0]).exists(), "something was written through the dangling link"
    others = {item["name"] for item in listing["content"]} - set(LAB_NOTEBOOKS[:2])
    assert any(name.endswith(".ipynb") for name in others), f"the other course notebooks were not copied: {others}"


def test_healthcheck_reports_healthy(docker_engine: docker.DockerClient, cpu_image: str) -> None:
    image_check = docker_engine.images.get(cpu_image).attrs["Config"].get("Healthcheck") or {}
    assert image_check.get("Test", [""])[-1].endswith("docker-healthcheck.py"), f"no HEALTHCHECK in the image: {image_check}"
    # The image's own check command, polled every second instead of every 10 s: same verdict, sooner.
    healthcheck = {"test": image_check["Test"], "interval": 1_000_000_000, "timeout": 3_000_000_000, "retries": 3}
    with jupyter_server(docker_engine, cpu_image, healthcheck=healthcheck) as server:
        def healthy() -> bool:
            server.container.reload()
            return bool(server.container.attrs["State"]["Health"]["Status"] == "healthy")

        wait_until(healthy, timeout_s=60, interval_s=1, what="the HEALTHCHECK to pass")


def test_idle_kernels_are_shut_down_when_asked(docker_engine: docker.DockerClient, cpu_image: str) -> None:
    # JupyterHub and Kubernetes set DL_LAB_KERNEL_CULL_TIMEOUT so that idle kernels free their (GPU) memory.
    # The culling the test asks for; the server also logs a traceback while it culls the kernel (not examined yet).
    culled = [r"\[W .* ServerApp\] Culling '\w+' kernel 'python3' .* due to 3 seconds of inactivity", r"^Traceback "]
    with jupyter_server(docker_engine, cpu_image, environment={"DL_LAB_KERNEL_CULL_TIMEOUT": "3"},
                        expected_log=culled) as server:
        status, kernel = server.request("/api/kernels", method="POST", body={})
        assert status == 201, f"could not start a kernel: {status} {kernel}"

        def culled() -> bool:
            status, kernels = server.request("/api/kernels")
            return status == 200 and kernel["id"] not in [k["id"] for k in kernels]

        wait_until(culled, timeout_s=60, interval_s=1, what="the idle kernel to be shut down")


def test_a_bad_kernel_cull_setting_is_one_clear_line(docker_engine: docker.DockerClient, cpu_image: str) -> None:
    status, output = run_in_image(docker_engine, cpu_image, ["start-notebook.py"],
                                  environment={"DL_LAB_KERNEL_CULL_TIMEOUT": "media hora", "JUPYTER_TOKEN": "x" * 32})
    assert status != 0, "the server started with a meaningless cull setting"
    assert "DL_LAB_KERNEL_CULL_TIMEOUT must be a whole number of seconds" in output, output[-800:]
    assert "Traceback" not in output, output[-800:]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (container_check("torch_cuda_major"), facts().cuda_version.split(".")[0]),
        (container_check("torch_version"), facts().torch_version),
        (container_check("gpu_visible"), "False 0"),
        (["sh", "-c", "echo $NVIDIA_VISIBLE_DEVICES $NVIDIA_DRIVER_CAPABILITIES"], "all compute,utility"),
        (["id", "-un"], "jovyan"),
    ],
    ids=["cuda-build", "same-torch", "no-gpu-visible", "nvidia-env", "user"],
)
def test_cuda_image_without_gpu(
    docker_engine: docker.DockerClient, cuda_image: str, command: list[str], expected: str
) -> None:
    status, output = run_in_image(docker_engine, cuda_image, command)
    assert status == 0, f"{command} failed in {cuda_image}: {output}"
    # Exactly the expected line: no warnings or tracebacks from CUDA initialisation without a driver.
    assert output.strip() == expected, f"{command} printed {output!r}, expected only {expected!r}"


def test_cuda_image_labels(docker_engine: docker.DockerClient, cuda_image: str) -> None:
    labels = docker_engine.images.get(cuda_image).labels
    expected = {"org.dl-lab.variant": "cuda", "org.dl-lab.cuda-version": facts().cuda_version,
                "org.dl-lab.torch-version": facts().torch_version}
    assert {key: labels.get(key) for key in expected} == expected


@pytest.mark.parametrize("jupyter_cmd", ["lab", "server"])
def test_docker_stacks_jupyter_cmd_picks_the_server(docker_engine: docker.DockerClient, cpu_image: str, jupyter_cmd: str) -> None:
    with jupyter_server(docker_engine, cpu_image, environment={"DOCKER_STACKS_JUPYTER_CMD": jupyter_cmd}) as server:
        listing = run_in(server.container, ["sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"], timeout_s=30)[1]
        assert f"jupyter-{jupyter_cmd}" in listing, f"DOCKER_STACKS_JUPYTER_CMD={jupyter_cmd} did not start jupyter-{jupyter_cmd}"


# ---- what a PyTorch 2 user expects, in both images ------------------------------------------------------
VARIANTS: tuple[Variant, ...] = ("cpu", "cuda")

@pytest.mark.parametrize("variant", VARIANTS)
def test_torch_compile_runs_on_the_cpu(docker_engine: docker.DockerClient, request: pytest.FixtureRequest,
                                       variant: Variant) -> None:
    # inductor generates C++, compiles it with the image's g++ against Python.h and torch's headers, and loads it.
    image = request.getfixturevalue(f"{variant}_image")
    status, output = run_in_image(docker_engine, image, container_check("compile_on_cpu"), working_dir="/tmp",
                                  environment={"HOME": "/tmp"})
    assert status == 0, f"torch.compile failed in {image}: {output[-1500:]}"
    assert output.strip().splitlines()[-1] == "True", f"the compiled function computed wrong values: {output[-500:]}"


def test_triton_finds_a_c_compiler_and_python_headers(docker_engine: docker.DockerClient, cuda_image: str) -> None:
    # On a GPU, Triton builds a C launcher at run time: $CC, clang or gcc, against Python.h. The same here, without a GPU.
    status, output = run_in_image(docker_engine, cuda_image, container_check("triton_build"))
    assert status == 0, f"a C file including Python.h does not build in {cuda_image}: {output[-1000:]}"
    assert output.strip().splitlines()[-1] == "compiled with gcc", output


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (container_check("notebook_packages"), "8.1.9"),
        (["sh", "-c", "jupyter labextension list 2>&1 | grep -c 'jupyterlab-manager.*enabled.*OK'"], "1"),
        (["sh", "-c", "for t in git less nano unzip ps top gcc g++ sudo openssl; do command -v $t >/dev/null"
                      " || echo missing $t; done; echo checked"], "checked"),
    ],
    ids=["notebook-packages", "widgets-in-jupyterlab", "terminal-tools"],
)
def test_what_a_notebook_user_expects(docker_engine: docker.DockerClient, request: pytest.FixtureRequest, variant: Variant,
                                      command: list[str], expected: str) -> None:
    image = request.getfixturevalue(f"{variant}_image")
    status, output = run_in_image(docker_engine, image, command)
    assert status == 0, f"{command} in {image}: {output[-800:]}"
    assert output.strip() == expected, f"{command} in {image}: expected only {expected!r}, got {output!r}"


def locked_torchvision(variant: Variant) -> str:
    return wheels.torchvision_status(wheels.lab_lock_file(variant))


@pytest.mark.parametrize("variant", VARIANTS)
def test_torchvision_works_or_is_absent_with_the_reason(docker_engine: docker.DockerClient, request: pytest.FixtureRequest,
                                                        variant: Variant) -> None:
    image = request.getfixturevalue(f"{variant}_image")
    expected = locked_torchvision(variant)
    label = docker_engine.images.get(image).labels.get("org.dl-lab.torchvision")
    assert label == expected, f"{image}: label org.dl-lab.torchvision is {label!r}, the lock says {expected!r}"
    status, output = run_in_image(docker_engine, image, container_check("torchvision_status"))
    assert status == 0, f"torchvision must import and run, or be absent, in {image}: {output[-1500:]}"
    lines = output.strip().splitlines()
    if expected.startswith("absent"):
        assert lines == [expected, "not installed"], f"{image}: {lines}"
    else:
        assert lines == [expected, f"{facts().torchvision_version} [0]"], f"{image}: {lines}"
