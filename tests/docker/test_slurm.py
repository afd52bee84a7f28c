"""deploy/slurm/: the batch script on a real one-node Slurm cluster, and `make sif`.

The module starts its own munged, slurmctld and slurmd (Debian's slurm-wlm) with a slurm.conf
for this machine only (private ports, state and sockets in a temporary folder) and one GPU
"device" so that the script's `--gres=gpu:1` is scheduled as on a GPU cluster. Apptainer is not
in Debian 12, so the job takes the script's engine fallback (docker), which is what runs here.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker
import pytest
import requests

from harness.config import REPO_ROOT, facts
from harness.engine.waiting import wait_until
from tests.utils.lab_process import free_port, stop

SBATCH_SCRIPT = REPO_ROOT / "deploy" / "slurm" / "dl-lab.sbatch"
SLURM_TOOLS = ("mungekey", "munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo")
JOB_START_TIMEOUT_S = 240
URL_FILE_LINE = re.compile(r"^DL_LAB_URL_FILE=(\S+)\nDL_LAB_PORT=(\d+)$", re.MULTILINE)
TUNNEL_URL = re.compile(r"^http://127\.0\.0\.1:8888/lab\?token=([0-9a-f]{48})$")


@dataclass
class SlurmCluster:
    root: Path
    env: dict[str, str]
    daemons: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=60, check=check,
                              cwd=REPO_ROOT)

    def jobs(self) -> list[str]:
        return self.run("squeue", "-h", "-o", "%i").stdout.split()

    def log_tail(self) -> str:
        parts = [f"{log.name}: {log.read_text()[-600:]}" for log in sorted(self.root.glob("*.log"))]
        return "\n".join(parts)


def write_config(root: Path, node: str) -> Path:
    conf = root / "slurm.conf"
    conf.write_text(f"""\
ClusterName=dllabtest
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={root}/munge/munge.socket
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MpiDefault=none
GresTypes=gpu
KillWait=30
NodeName={node} NodeAddr=127.0.0.1 CPUs={os.cpu_count() or 1} RealMemory=2000 Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes={node} Default=YES MaxTime=INFINITE State=UP
""")
    # A stand-in GPU: Slurm schedules --gres=gpu:1 onto it; the script finds no driver and says so.
    (root / "gres.conf").write_text(f"NodeName={node} Name=gpu File=/dev/null\n")
    return conf


def stop_daemons(cluster: SlurmCluster) -> None:
    for process in reversed(cluster.daemons):  # slurmd, slurmctld, then munged
        stop(process, signal.SIGTERM, timeout_s=20)


@pytest.fixture(scope="module")
def slurm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlurmCluster]:
    missing = [tool for tool in SLURM_TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"Slurm is not installed ({', '.join(missing)} missing): `make setup` installs slurm-wlm "
                    "(.ci/apt-packages), or apt-get install slurm-wlm")
    if os.geteuid() != 0:
        pytest.skip("slurmd launches jobs as their users and must run as root; run the tests as root (CI does)")
    root = tmp_path_factory.mktemp("slurm")
    for folder in ("state", "spool", "munge"):
        (root / folder).mkdir()
    (root / "munge").chmod(0o700)
    node = socket.gethostname().split(".")[0]
    conf = write_config(root, node)
    cluster = SlurmCluster(root, {**os.environ, "SLURM_CONF": str(conf)})
    subprocess.run(["mungekey", "--create", f"--keyfile={root}/munge.key"], check=True, timeout=30)
    try:
        cluster.daemons.append(subprocess.Popen(
            ["munged", "--foreground", "--force", f"--socket={root}/munge/munge.socket", f"--key-file={root}/munge.key",
             f"--pid-file={root}/munged.pid", f"--log-file={root}/munged.log", f"--seed-file={root}/munged.seed"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_until((root / "munge" / "munge.socket").exists, timeout_s=20, what="munged's socket")
        for daemon in ("slurmctld", "slurmd"):
            cluster.daemons.append(subprocess.Popen([daemon, "-D", "-f", str(conf)], env=cluster.env,
                                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        try:
            wait_until(lambda: cluster.run("sinfo", "-h", "-N", "-o", "%t", check=False).stdout.strip() == "idle",
                       timeout_s=60, interval_s=0.5, what="the Slurm node to be idle")
        except Exception as error:
            pytest.fail(f"{error}\n{cluster.log_tail()}")
        yield cluster
    finally:
        with_jobs = cluster.run("squeue", "-h", "-o", "%i", check=False).stdout.split() if cluster.daemons else []
        if with_jobs:
            cluster.run("scancel", *with_jobs, check=False)
        stop_daemons(cluster)
    alive = [str(p.args) for p in cluster.daemons if p.poll() is None]
    assert not alive, f"these Slurm daemons outlived the tests: {alive}"


@dataclass(frozen=True)
class SlurmJob:
    id: str
    output: Path
    scratch: Path
    work: Path


JOB_MEMORY_MB = 500


def submit(slurm: SlurmCluster, tmp_path: Path) -> SlurmJob:
    scratch, work = tmp_path / "scratch", tmp_path / "home" / "dl-lab" / "work"
    exports = {"DL_LAB_VARIANT": "cpu", "DL_LAB_SCRATCH": str(scratch), "HOME": str(tmp_path / "home")}
    output = tmp_path / "job-%j.out"
    # The script's own #SBATCH lines stand (--gres=gpu:1 included); only the sizes shrink to this machine's.
    result = slurm.run("sbatch", "--parsable", f"--mem={JOB_MEMORY_MB}M", "--cpus-per-task=1", "--time=10",
                       f"--output={output}",
                       "--export=ALL," + ",".join(f"{k}={v}" for k, v in exports.items()), str(SBATCH_SCRIPT))
    job_id = result.stdout.strip().split(";")[0]
    return SlurmJob(job_id, Path(str(output).replace("%j", job_id)), scratch / f"dl-lab-{job_id}", work)


def other_addresses() -> list[str]:
    """This machine's addresses other than loopback (where a server on 0.0.0.0 would also answer)."""
    output = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=10, check=False).stdout
    return [address for address in output.split() if ":" not in address and not address.startswith("127.")]


@dataclass(frozen=True)
class RunningJob:
    job: SlurmJob
    text: str  # the job's .out
    node: str
    port: int
    url_file: Path


@pytest.fixture(scope="module")
def running_job(slurm: SlurmCluster, docker_engine: docker.DockerClient, cpu_image: str,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningJob]:
    """One job for the module: the checks while it runs, then (last) what scancel leaves."""
    job = submit(slurm, tmp_path_factory.mktemp("job"))
    job_label = {"label": f"org.dl-lab.slurm-job={job.id}"}
    try:
        def announced() -> re.Match[str] | None:
            text = job.output.read_text() if job.output.exists() else ""
            assert "error:" not in text, f"the job failed:\n{text[-2000:]}"
            return URL_FILE_LINE.search(text)

        try:
            match = wait_until(announced, timeout_s=JOB_START_TIMEOUT_S, interval_s=1, what=f"job {job.id}'s URL")
        except Exception as error:
            pytest.fail(f"{error}\njob output: {job.output.read_text()[-2000:] if job.output.exists() else '-'}\n"
                        f"{slurm.log_tail()}")
        yield RunningJob(job, job.output.read_text(), socket.gethostname().split(".")[0], int(match.group(2)),
                         Path(match.group(1)))
    finally:
        slurm.run("scancel", job.id, check=False)
    wait_until(lambda: job.id not in slurm.jobs(), timeout_s=90, interval_s=0.5, what=f"job {job.id} to end")
    wait_until(lambda: not docker_engine.containers.list(all=True, filters=job_label), timeout_s=60, interval_s=0.5,
               what=f"job {job.id}'s container to be removed")


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_batch_job_serves_jupyterlab_on_the_nodes_loopback(docker_engine: docker.DockerClient,
                                                            running_job: RunningJob) -> None:
    job, text, node, port = running_job.job, running_job.text, running_job.node, running_job.port
    tunnel = re.search(rf"ssh -N -L 8888:127\.0\.0\.1:{port} -J \S+@\S+ \S+@{node}\b", text)
    assert tunnel, f"no SSH tunnel ending on the node's 127.0.0.1 in:\n{text}"
    listed = running_job.url_file.read_text().strip()
    token_match = TUNNEL_URL.match(listed)
    assert token_match, f"{running_job.url_file} holds {listed!r}, not the tunnel's URL with a token"
    token = token_match.group(1)
    assert token not in text, "the token is in the job's .out, which other users can often read"
    assert stat.S_IMODE(running_job.url_file.stat().st_mode) == 0o600, "the URL file is readable by others"
    assert stat.S_IMODE(running_job.url_file.parent.stat().st_mode) == 0o700, "the token's folder is open to others"

    # The node is this machine: on 127.0.0.1 the server answers, with the token only.
    url = f"http://127.0.0.1:{port}/lab?token={token}"
    assert requests.get(url, timeout=30).status_code == 200, f"{url} does not answer"
    status = requests.get(f"http://127.0.0.1:{port}/api/status", timeout=30).status_code
    assert status == 403, f"the server answered {status} without the token: it must refuse"
    for address in other_addresses():
        with socket.socket() as probe:
            probe.settimeout(3)
            assert probe.connect_ex((address, port)) != 0, f"JupyterLab answers on {address}:{port}, not only 127.0.0.1"
    # The container of the fallback engine carries the project's label, so nothing escapes cleanup.
    containers = docker_engine.containers.list(filters={"label": f"org.dl-lab.slurm-job={job.id}"})
    assert [c.labels.get(facts().project_label) for c in containers] == ["slurm"], containers
    host = containers[0].attrs["HostConfig"]
    limits = {"Memory": host["Memory"], "MemorySwap": host["MemorySwap"], "NanoCpus": host["NanoCpus"]}
    wanted = {"Memory": JOB_MEMORY_MB * 2**20, "MemorySwap": JOB_MEMORY_MB * 2**20, "NanoCpus": 10**9}
    assert limits == wanted, f"the docker fallback is not inside the job's limits (1 CPU, {JOB_MEMORY_MB} MB): {limits}"
    runtime = list((job.scratch / "runtime").glob("jpserver-*.json"))
    assert runtime, f"Jupyter's runtime files are not on scratch ({job.scratch / 'runtime'})"
    home_runtime = job.work.parent.parent / ".local" / "share" / "jupyter" / "runtime"
    assert not home_runtime.exists(), f"Jupyter wrote its runtime files into $HOME ({home_runtime})"
    notebooks = sorted(path.name for path in job.work.glob("*.ipynb"))
    assert any(name.startswith("00") for name in notebooks), f"course notebooks not in {job.work}: {notebooks}"


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_scancel_leaves_nothing_behind(slurm: SlurmCluster, running_job: RunningJob) -> None:
    slurm.run("scancel", running_job.job.id, check=False)
    wait_until(lambda: running_job.job.id not in slurm.jobs(), timeout_s=90, interval_s=0.5,
               what=f"job {running_job.job.id} to end")
    wait_until(lambda: not running_job.url_file.exists(), timeout_s=60, interval_s=0.5,
               what=f"{running_job.url_file} to be removed")
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", running_job.port)) != 0, f"port {running_job.port} answers after scancel"
    assert not running_job.job.scratch.exists(), f"the job left its scratch folder {running_job.job.scratch}"


def tools_only_path(tmp_path: Path) -> str:
    """A PATH with the basic tools the script uses and no container engine."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "hostname", "head", "od", "tr", "mkdir", "chmod", "seq", "rm", "cat", "id", "sleep", "kill"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"DL_LAB_VARIANT": "gpu"}, "DL_LAB_VARIANT must be cpu or cuda"),
        ({"DL_LAB_REPO": "/nonexistent"}, "set DL_LAB_SIF"),
        ({"DL_LAB_ENGINE": "podman-not-here"}, "DL_LAB_ENGINE=podman-not-here, but podman-not-here is not installed"),
        ({"DL_LAB_ENGINE": "docker", "DL_LAB_IMAGE": "dl-lab:no-such-tag"}, "the image dl-lab:no-such-tag is not on"),
        ({"PATH": "tools-only"}, "no container engine on"),
        ({"DL_LAB_SCRATCH": "/proc/no-scratch-here"}, "cannot write to scratch"),
        # Inside a Slurm job that did not say its memory, docker would run outside any limit.
        ({"SLURM_JOB_ID": "42", "SLURM_CPUS_PER_TASK": "1", "DL_LAB_ENGINE": "docker"},
         "cannot be kept inside this job's limits"),
    ],
)
def test_batch_script_says_what_to_fix(tmp_path: Path, settings: dict[str, str], message: str) -> None:
    outside_slurm = {key: value for key, value in os.environ.items() if not key.startswith("SLURM_")}
    env = {**outside_slurm, "HOME": str(tmp_path / "home"), "DL_LAB_SCRATCH": str(tmp_path / "scratch"),
           "DL_LAB_VARIANT": "cpu", **settings}
    if env["PATH"] == "tools-only":
        env["PATH"] = tools_only_path(tmp_path)
    result = subprocess.run([shutil.which("bash") or "bash", str(SBATCH_SCRIPT)], env=env, cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0, f"the script accepted {settings}:\n{result.stdout}"
    errors = [line for line in result.stderr.splitlines() if line.startswith("[dl-lab] error:")]
    assert len(errors) == 1 and message in errors[0], f"expected one error with {message!r}, got:\n{result.stderr}"
    assert "Traceback" not in result.stderr


def _build_sif(variant: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(REPO_ROOT / "deploy" / "slurm" / "build-sif.sh"), variant],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.skipif(bool(shutil.which("apptainer") or shutil.which("singularity")),
                    reason="apptainer is installed here: `make sif` converts for real (minutes; not part of the tests)")
def test_make_sif_without_apptainer_says_what_to_do() -> None:
    result = _build_sif("cpu")
    assert result.returncode == 3, f"build-sif.sh cpu exited {result.returncode}: {result.stderr}"
    assert "apptainer is not installed" in result.stderr, result.stderr
    assert "docker save" in result.stderr and "docker-archive://" in result.stderr, result.stderr


def test_make_sif_refuses_an_unknown_variant() -> None:
    result = _build_sif("gpu")
    assert result.returncode == 1 and "VARIANT must be cpu or cuda" in result.stderr, result.stderr
