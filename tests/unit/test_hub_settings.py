"""The hub's decisions that need no engine: GPU round-robin, subnets, device lists, one place for settings."""

from __future__ import annotations

import importlib.util
import random
import re
from types import ModuleType

import pytest

from harness.cli import build_parser
from harness.config import REPO_ROOT, SESSION_ENV, facts
from harness.hub.gpus import parse_device_list
from harness.hub.settings import DEFAULTS, HubSettings, hub_environment

HUB_DIR = REPO_ROOT / "deploy" / "jupyterhub"
CONFIG = HUB_DIR / "jupyterhub_config.py"


def load_allocation() -> ModuleType:
    """deploy/jupyterhub/dl_lab_hub/allocation.py: runs in the hub image, the standard library only."""
    spec = importlib.util.spec_from_file_location("dl_lab_hub_allocation", HUB_DIR / "dl_lab_hub" / "allocation.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


allocation = load_allocation()


@pytest.mark.parametrize(
    ("devices", "per_server", "servers", "expected"),
    [
        (["0", "1"], 1, 5, [("0",), ("1",), ("0",), ("1",), ("0",)]),
        (["0", "1", "2"], 1, 4, [("0",), ("1",), ("2",), ("0",)]),
        (["0", "1", "2", "3"], 2, 3, [("0", "1"), ("2", "3"), ("0", "1")]),
        (["MIG-a", "MIG-b"], 1, 3, [("MIG-a",), ("MIG-b",), ("MIG-a",)]),
        (["0"], 4, 2, [("0",), ("0",)]),  # more asked than there are: all of them
        ([], 1, 2, [(), ()]),
    ],
)
def test_gpus_are_handed_out_round_robin(devices: list[str], per_server: int, servers: int,
                                         expected: list[tuple[str, ...]]) -> None:
    pool = allocation.GpuPool(devices, per_server=per_server)
    got = [pool.assign(f"student{index}") for index in range(servers)]
    assert got == expected, f"{servers} servers over {devices} ({per_server} each) got {got}"


def test_a_freed_gpu_goes_to_the_next_server() -> None:
    pool = allocation.GpuPool(["0", "1", "2"])
    for student in ("a", "b", "c", "d"):  # 0, 1, 2, 0: device 0 holds two servers
        pool.assign(student)
    pool.release("b")
    assert pool.assign("e") == ("1",), f"the least used device (1, freed by b) should go next: {pool.load()}"
    assert pool.assign("a") == ("0",), "a server that holds devices keeps them"
    assert pool.load() == {"0": 2, "1": 1, "2": 1}, pool.load()


def test_a_restarted_hub_adopts_what_running_servers_hold() -> None:
    pool = allocation.GpuPool(["0", "1"])
    pool.adopt("running", ["1", "gone-from-the-list"])
    assert pool.load() == {"0": 0, "1": 1}, "only known devices are adopted"
    assert pool.assign("new") == ("0",), "the device a running server holds is not handed out first"


def test_no_gpus_per_student_is_refused() -> None:
    with pytest.raises(ValueError, match="1 or more"):
        allocation.GpuPool(["0"], per_server=0)


@pytest.mark.parametrize(
    ("taken", "expected"),
    [
        ([], "172.30.0.0/29"),
        (["172.30.0.0/29", "172.30.0.8/29"], "172.30.0.16/29"),
        (["172.30.0.0/28"], "172.30.0.16/29"),
        (["172.17.0.0/16", "10.0.0.0/8"], "172.30.0.0/29"),  # other networks do not matter
    ],
)
def test_each_student_gets_a_free_subnet(taken: list[str], expected: str) -> None:
    assert allocation.free_subnet("172.30.0.0/16", taken) == expected


def test_a_random_subnet_is_free_and_spread_over_the_range() -> None:
    taken = ["172.30.0.0/29", "172.30.0.16/28"]
    picks = {allocation.free_subnet("172.30.0.0/26", taken, rng=random.Random(seed)) for seed in range(40)}
    assert picks == {"172.30.0.8/29", "172.30.0.32/29", "172.30.0.40/29", "172.30.0.48/29", "172.30.0.56/29"}, picks


def test_a_full_subnet_range_says_what_to_do() -> None:
    with pytest.raises(ValueError, match="--student-subnets"):
        allocation.free_subnet("172.30.0.0/29", ["172.30.0.0/29"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0,1", ("0", "1")),
        (" 0 1,1 ", ("0", "1")),
        ("", ()),
    ],
)
def test_device_settings_are_parsed(text: str, expected: tuple[str, ...]) -> None:
    assert allocation.parse_devices(text) == expected


NVIDIA_SMI_L = {
    "two GPUs": (
        "GPU 0: NVIDIA A100-SXM4-80GB (UUID: GPU-5b7c3e0a-1111-2222-3333-444455556666)\n"
        "GPU 1: NVIDIA A100-SXM4-80GB (UUID: GPU-6c8d4f1b-1111-2222-3333-444455556666)\n",
        ("0", "1"),
    ),
    "one split by MIG, one whole": (
        "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-5b7c3e0a-1111-2222-3333-444455556666)\n"
        "  MIG 3g.40gb     Device  0: (UUID: MIG-1c2a3b4c-1111-2222-3333-444455556666)\n"
        "  MIG 3g.40gb     Device  1: (UUID: MIG-2d3e4f5a-1111-2222-3333-444455556666)\n"
        "GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-6c8d4f1b-1111-2222-3333-444455556666)\n",
        ("MIG-1c2a3b4c-1111-2222-3333-444455556666", "MIG-2d3e4f5a-1111-2222-3333-444455556666", "1"),
    ),
    "no GPU": ("No devices found.\n", ()),
}


@pytest.mark.parametrize("case", NVIDIA_SMI_L)
def test_devices_come_from_nvidia_smi(case: str) -> None:
    text, expected = NVIDIA_SMI_L[case]
    assert parse_device_list(text) == expected, f"{case}: {parse_device_list(text)}"


def config_settings() -> set[str]:
    return set(re.findall(r"""setting\(["'](DL_LAB_[A-Z_]+)["']\)""", CONFIG.read_text()))


def test_the_hub_config_reads_exactly_what_harness_sets() -> None:
    environment = hub_environment(HubSettings(), image="x", gpu_ids=(), work_size="", token="t")
    assert config_settings() == set(environment), (
        f"jupyterhub_config.py reads {sorted(config_settings() - set(environment))} that `hub up` does not set, "
        f"or `hub up` sets {sorted(set(environment) - config_settings())} that the config ignores"
    )


def test_the_hub_config_has_no_defaults_of_its_own() -> None:
    text = CONFIG.read_text()
    assert "os.environ.get" not in text and "env(" not in text, (
        "jupyterhub_config.py reads a variable with a default: the defaults belong in harness/hub/settings.py"
    )
    assert facts().course_version not in text and not re.search(r":(cpu|cuda)-\d", text), (
        "jupyterhub_config.py names an image tag: it comes from docker/versions.env through DL_LAB_IMAGE"
    )


def test_the_cli_defaults_are_the_settings_defaults() -> None:
    args = build_parser().parse_args(["hub", "up"])
    for option, field in (("cpu_limit", "cpu_limit"), ("mem_limit", "mem_limit"), ("shm_size", "shm_size"),
                          ("work_size", "work_size"), ("cull_timeout", "cull_timeout_s"),
                          ("kernel_cull_timeout", "kernel_cull_timeout_s"), ("admin", "admin"),
                          ("gpu_group", "gpu_group"), ("student_subnets", "student_subnets")):
        assert getattr(args, option) == getattr(DEFAULTS, field), f"`hub up --{option}` defaults elsewhere"


@pytest.mark.parametrize(("session", "expected"), [
    ("pytest-abc", {"org.dl-lab.project": "hub", "org.dl-lab.session": "pytest-abc"}),
    ("", {"org.dl-lab.project": "hub"}),
])
def test_a_session_labels_what_it_starts_only_when_set(monkeypatch: pytest.MonkeyPatch, session: str,
                                                       expected: dict[str, str]) -> None:
    monkeypatch.setenv(SESSION_ENV, session)
    assert facts().labels("hub") == expected
