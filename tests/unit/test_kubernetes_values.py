"""deploy/kubernetes/values.yaml: the facts a course needs, and the Zero to JupyterHub chart's own schema.

No cluster runs here; what can be checked offline is that the values say what the README
promises (pinned lab images of this course release, a GPU profile, /dev/shm, storage, culling)
and that Helm would accept them: the chart validates its defaults merged with the user's values
against values.schema.yaml, and so does this test where ../shared/z2jh/ holds that schema.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from traitlets.config import Config

from harness.config import REPO_ROOT, facts
from harness.hub.settings import HubSettings

VALUES_FILE = REPO_ROOT / "deploy" / "kubernetes" / "values.yaml"
# In CI the repository is cloned somewhere and shared/ sits beside it.
Z2JH_DIR = REPO_ROOT.parent / "shared" / "z2jh"


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    loaded = yaml.safe_load(VALUES_FILE.read_text())
    assert isinstance(loaded, dict), f"{VALUES_FILE} must be a YAML mapping"
    return loaded


def dig(tree: dict[str, Any], dotted: str) -> Any:
    node: Any = tree
    for key in dotted.split("."):
        assert isinstance(node, dict) and key in node, f"values.yaml lacks {dotted} (missing at {key!r})"
        node = node[key]
    return node


def profile(values: dict[str, Any], slug: str) -> dict[str, Any]:
    profiles = {p.get("slug"): p for p in dig(values, "singleuser.profileList")}
    assert slug in profiles, f"singleuser.profileList has no {slug!r} profile (has {sorted(profiles)})"
    found: dict[str, Any] = profiles[slug]
    return found


def image_of(reference: str) -> tuple[str, str]:
    name, _, tag = reference.rpartition(":")
    return name, tag


def test_default_image_is_the_cpu_image_of_this_release(values: dict[str, Any]) -> None:
    image = dig(values, "singleuser.image")
    wanted = facts().image_tag("cpu")
    assert str(image["tag"]) == wanted, (
        f"singleuser.image.tag is {image['tag']!r} but docker/versions.env (the Makefile's) says {wanted!r}"
    )
    assert image["name"].rsplit("/", 1)[-1] == facts().image_name, (
        f"singleuser.image.name {image['name']!r} is not the lab image {facts().image_name!r}"
    )


def test_the_cpu_profile_uses_the_default_image(values: dict[str, Any]) -> None:
    override = profile(values, "cpu").get("kubespawner_override", {})
    assert "image" not in override, f"the cpu profile should use singleuser.image, not {override['image']!r}"


def test_the_gpu_profile_pins_the_cuda_image_of_this_release(values: dict[str, Any]) -> None:
    name, tag = image_of(profile(values, "gpu").get("kubespawner_override", {}).get("image", ""))
    wanted = facts().image_tag("cuda")
    assert tag == wanted, f"the gpu profile's image tag {tag!r} is not this release's {wanted!r}"
    assert name.rsplit("/", 1)[-1] == facts().image_name, f"the gpu profile's image {name!r} is not the lab image"


def test_no_image_is_latest(values: dict[str, Any]) -> None:
    text = VALUES_FILE.read_text()
    assert ":latest" not in text and "tag: latest" not in text, "values.yaml refers to a 'latest' tag: pin the release"


def test_gpu_profile_asks_for_one_gpu_and_cpu_profile_none(values: dict[str, Any]) -> None:
    gpu_limits = profile(values, "gpu")["kubespawner_override"].get("extra_resource_limits", {})
    assert str(gpu_limits.get("nvidia.com/gpu")) == "1", f"GPU profile: want nvidia.com/gpu: 1, has {gpu_limits}"
    every_user = values["singleuser"].get("extraResource", {}).get("limits", {})
    assert "nvidia.com/gpu" not in every_user, "a GPU limit for every user would leave CPU students unschedulable"
    assert profile(values, "cpu").get("default") is True, "the CPU profile should be the default"


def test_dev_shm_is_an_in_memory_volume(values: dict[str, Any]) -> None:
    volumes = {v["name"]: v for v in dig(values, "singleuser.storage.extraVolumes")}
    mounts = {m["mountPath"]: m["name"] for m in dig(values, "singleuser.storage.extraVolumeMounts")}
    assert "/dev/shm" in mounts, f"nothing is mounted at /dev/shm (mounts: {sorted(mounts)})"
    volume = volumes.get(mounts["/dev/shm"], {})
    assert volume.get("emptyDir", {}).get("medium") == "Memory", f"/dev/shm must be an emptyDir in Memory, is {volume}"


def test_the_cluster_serves_what_the_single_server_hub_serves(values: dict[str, Any]) -> None:
    """The facts the two deployments share come from the single-server hub's code, not restated here."""
    hub_config = (REPO_ROOT / "deploy" / "jupyterhub" / "jupyterhub_config.py").read_text()
    default_url = re.search(r'^c\.Spawner\.default_url = "(.*)"$', hub_config, re.MULTILINE)
    assert default_url, "deploy/jupyterhub/jupyterhub_config.py sets no c.Spawner.default_url"
    assert dig(values, "singleuser.defaultUrl") == default_url.group(1)
    hub = HubSettings()
    assert dig(values, "singleuser.extraEnv.DL_LAB_KERNEL_CULL_TIMEOUT") == str(hub.kernel_cull_timeout_s)
    assert dig(values, "cull.timeout") == hub.cull_timeout_s, "servers idle as long as on the single-server hub"


def test_students_get_the_images_user_and_entrypoint(values: dict[str, Any]) -> None:
    """The home folder is the volume (so ~/work, where start.sh copies the notebooks, persists); the pod runs as
    the image's user, through the image's start script."""
    assert dig(values, "singleuser.storage.homeMountPath") == f"/home/{facts().nb_user}"
    assert dig(values, "singleuser.uid") == facts().nb_uid
    assert dig(values, "singleuser.fsGid") == facts().nb_gid
    command = dig(values, "singleuser.cmd")
    assert (REPO_ROOT / "docker" / "scripts" / command).is_file(), f"the image has no {command} (docker/scripts/)"


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("prePuller.hook.enabled", "nodes pull the images before an upgrade completes"),
        ("prePuller.continuous.enabled", "nodes that join later pull them too"),
        ("prePuller.pullProfileListImages", "the GPU profile's image is pulled too"),
        ("cull.enabled", "idle servers stop, freeing their node's CPU, memory and GPU"),
    ],
)
def test_course_switches_are_on(values: dict[str, Any], key: str, why: str) -> None:
    assert dig(values, key) is True, f"{key} is {dig(values, key)!r}: turn it on ({why})"


def test_each_student_gets_a_volume(values: dict[str, Any]) -> None:
    assert dig(values, "singleuser.storage.type") == "dynamic", "one PersistentVolumeClaim per student"


def test_authentication_is_not_open(values: dict[str, Any]) -> None:
    authenticator = str(dig(values, "hub.config.JupyterHub.authenticator_class"))
    open_ones = {"dummy", "null", "jupyterhub.auth.DummyAuthenticator"}
    assert authenticator not in open_ones, f"{authenticator} lets anyone in"
    assert dig(values, "hub.config.Authenticator.admin_users"), "name at least one admin user"
    if "native" in authenticator.lower():
        assert dig(values, "hub.config.NativeAuthenticator.open_signup") is False, "sign-ups must wait for an admin"


def merge(defaults: Any, override: Any) -> Any:
    """Helm's coalescing: mappings merge key by key, anything else (lists too) is replaced."""
    if isinstance(defaults, dict) and isinstance(override, dict):
        merged = dict(defaults)
        for key, value in override.items():
            merged[key] = merge(defaults[key], value) if key in defaults else value
        return merged
    return override


def test_values_pass_the_charts_schema(values: dict[str, Any]) -> None:
    schema_file, defaults_file = Z2JH_DIR / "values.schema.yaml", Z2JH_DIR / "values.yaml"
    if not schema_file.exists() or not defaults_file.exists():
        pytest.skip(f"the Zero to JupyterHub values schema is not at {Z2JH_DIR} (shared/z2jh beside the repository)")
    schema = yaml.safe_load(schema_file.read_text())
    merged = merge(yaml.safe_load(defaults_file.read_text()), values)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(merged), key=lambda e: list(e.absolute_path))
    assert not errors, "the chart would reject values.yaml:\n" + "\n".join(
        f"  {'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors[:10]
    )


def test_schema_check_catches_a_typo(values: dict[str, Any]) -> None:
    """The schema check is only worth something if it rejects a misspelt key."""
    schema_file = Z2JH_DIR / "values.schema.yaml"
    if not schema_file.exists():
        pytest.skip(f"the Zero to JupyterHub values schema is not at {Z2JH_DIR}")
    schema = yaml.safe_load(schema_file.read_text())
    broken = merge(yaml.safe_load((Z2JH_DIR / "values.yaml").read_text()), values)
    broken["singleuser"]["stroage"] = {"capacity": "5Gi"}
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken)), "the schema accepted singleuser.stroage"


def test_values_file_is_where_the_readme_says() -> None:
    readme = (Path(VALUES_FILE).parent / "README.md").read_text()
    assert "helm upgrade --install" in readme and "deploy/kubernetes/values.yaml" in readme, (
        "deploy/kubernetes/README.md should give the helm command with this values file"
    )


def test_the_admin_account_cannot_be_claimed_by_signing_up(values: dict[str, Any]) -> None:
    """NativeAuthenticator authorizes a sign-up whose name is an admin's at once; the hub creates the admin first.

    The snippet subclasses NativeAuthenticator (1.3: user_exists, create_user, minimum_password_length)
    and reads the password from a Secret; checked here offline, for real on a cluster (README).
    """
    admins = dig(values, "hub.config.Authenticator.admin_users")
    snippet = dig(values, "hub.extraConfig")["10-dl-lab-admin-account"]
    compile(snippet, "10-dl-lab-admin-account", "exec")
    assert "class DLLabNativeAuthenticator(NativeAuthenticator)" in snippet, "no NativeAuthenticator subclass"
    assert "c.JupyterHub.authenticator_class = DLLabNativeAuthenticator" in snippet, "the subclass is not used"
    secret = dig(values, "hub.extraEnv.DL_LAB_ADMIN_PASSWORD.valueFrom.secretKeyRef")
    assert secret == {"name": "dl-lab-admin", "key": "password"}, f"the admin's password comes from {secret}"
    assert admins, "name at least one admin user"
    allowed = values["hub"]["config"]["Authenticator"].get("allowed_users", [])
    assert not allowed, f"allowed_users {allowed} would be authorized at their first sign-up, by whoever makes it"
    assert dig(values, "hub.config.Authenticator.allow_all") is True, (
        "without allow_all, JupyterHub 5 lets no approved student in (NativeAuthenticator's approval is the gate)"
    )


class FakeGroup:
    def __init__(self, name: str) -> None:
        self.name = name


class FakeUser:
    def __init__(self, groups: list[str]) -> None:
        self.groups = [FakeGroup(name) for name in groups]


class FakeSpawner:
    def __init__(self, groups: list[str]) -> None:
        self.user = FakeUser(groups)


@pytest.mark.parametrize(
    ("groups", "slugs"),
    [
        (["gpu"], ["cpu", "gpu"]),
        (["gpu", "lab2"], ["cpu", "gpu"]),
        ([], ["cpu"]),
        (["cnn-2025"], ["cpu"]),
    ],
)
def test_the_gpu_profile_is_for_the_gpu_group(values: dict[str, Any], groups: list[str], slugs: list[str]) -> None:
    """The snippet run as the chart runs it: after c.KubeSpawner.profile_list is set from singleuser.profileList."""
    config = Config()
    config.KubeSpawner.profile_list = dig(values, "singleuser.profileList")
    exec(dig(values, "hub.extraConfig")["20-dl-lab-gpu-profile-group"], {"c": config})
    profiles_for = config.KubeSpawner.profile_list
    assert callable(profiles_for), "the snippet does not make profile_list depend on the user"
    got = [profile["slug"] for profile in profiles_for(FakeSpawner(groups))]
    assert got == slugs, f"a user in {groups} is offered {got}, expected {slugs}"


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("singleuser.networkPolicy.enabled", True),
        ("singleuser.networkPolicy.egressAllowRules.cloudMetadataServer", False),
        ("singleuser.networkPolicy.egressAllowRules.privateIPs", False),  # not each other
        ("singleuser.cloudMetadata.blockWithIptables", True),
    ],
)
def test_students_pods_are_fenced_in(values: dict[str, Any], key: str, expected: object) -> None:
    assert dig(values, key) == expected, f"{key} is {dig(values, key)!r}: students' pods would reach more"


def test_each_students_server_has_an_origin_of_its_own(values: dict[str, Any]) -> None:
    """The admin may open students' servers here: only on subdomains, where their code cannot use the hub's cookies."""
    host = dig(values, "hub.config.JupyterHub.subdomain_host")
    assert str(host).startswith("https://") and host.count("/") == 2, f"subdomain_host {host!r} is not https://NAME"
    assert dig(values, "hub.config.JupyterHub.cookie_host_prefix_enabled") is True
