"""Static checks of the deployment files in deploy/ (issue 13, item 3).

They parse; every KEFU_* variable they set is a setting (support/settings.py) or one of
the variables bot/endpoints.yml reads (which ops/rasa.py derives from the settings); the
Dockerfiles copy files that exist and pin their versions; the Kubernetes manifests have
probes on real routes and resources, render with kustomize and pass
`kubectl --dry-run=client` where kubectl can run without a cluster; the nginx template
renders to a config that `nginx -t` accepts.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ops.rasa import rasa_environment
from ops.scale import NGINX, ScaleLayout, render_nginx_config
from support.settings import PROJECT_ROOT, Settings

DEPLOY = PROJECT_ROOT / "deploy"
COMPOSE = DEPLOY / "compose" / "compose.yaml"
K8S = DEPLOY / "k8s"
DOCKERFILES = sorted((DEPLOY / "docker").glob("*.Dockerfile"))
MANIFESTS = sorted(K8S.glob("*.yaml"))
SETTINGS = {f"KEFU_{name.upper()}" for name in Settings.model_fields}
# RSS (with children) after `make bench-load` on the scale-out configuration (docs/deploy.md):
# a Pod must be able to hold what the process was measured to use.
# Measured after `make bench-load` with USE, plus the e5-small int8 encoder's own measured
# 386 MiB (docs/deploy.md) for the two processes that hold the KB.
MEASURED_RSS_MIB = {"kefu-gateway": 457 + 386, "kefu-actions": 566 + 386, "kefu-rasa": 999}
PLACEHOLDER = re.compile(r"\$\{(KEFU_[A-Z0-9_]+)\}")


def rasa_variables() -> set[str]:
    """The KEFU_* variables Rasa's own configuration files read."""
    found: set[str] = set()
    for name in ("endpoints.yml", "credentials.yml"):
        found |= set(PLACEHOLDER.findall((PROJECT_ROOT / "bot" / name).read_text("utf-8")))
    return found


def documents() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in MANIFESTS:
        for document in yaml.safe_load_all(path.read_text("utf-8")):
            if document:
                yield path, document


def containers(document: dict[str, Any]) -> list[dict[str, Any]]:
    spec = document.get("spec", {})
    template = spec.get("template", {}).get("spec", {})
    return list(template.get("containers", [])) + list(template.get("initContainers", []))


def variables_set() -> dict[str, set[str]]:
    """Every KEFU_* variable each deployment file sets, by file."""
    found: dict[str, set[str]] = {}

    def add(where: Path, names: Any) -> None:
        kefu = {str(name) for name in names if str(name).startswith("KEFU_")}
        found.setdefault(where.relative_to(PROJECT_ROOT).as_posix(), set()).update(kefu)

    compose = yaml.safe_load(COMPOSE.read_text("utf-8"))
    for service in compose["services"].values():
        add(COMPOSE, (service.get("environment") or {}).keys())
    for path, document in documents():
        if document["kind"] in ("ConfigMap", "Secret"):
            add(path, {**document.get("data", {}), **document.get("stringData", {})})
        for container in containers(document):
            add(path, (variable["name"] for variable in container.get("env", [])))
    for dockerfile in DOCKERFILES:
        add(dockerfile, re.findall(r"\b(KEFU_[A-Z0-9_]+)=", dockerfile.read_text("utf-8")))
    return found


def test_files_parse() -> None:
    assert yaml.safe_load(COMPOSE.read_text("utf-8"))["services"]
    kinds = {document["kind"] for _, document in documents()}
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "ConfigMap", "Job"} <= kinds
    assert DOCKERFILES, "deploy/docker 里没有 Dockerfile"


def test_every_kefu_variable_exists() -> None:
    known = SETTINGS | rasa_variables()
    for where, names in variables_set().items():
        unknown = names - known
        assert not unknown, f"{where} 设置了不存在的配置项：{sorted(unknown)}"
    assert any(variables_set().values())


def test_rasa_variables_match_what_ops_derives() -> None:
    """The deployment files set Rasa's variables directly; ops/rasa.py derives the same
    set from the settings, so neither can drift from bot/endpoints.yml."""
    settings = Settings(redis_url="redis://127.0.0.1:6379/0", rasa_tracker_url="redis://r:6379/0")
    derived = {name for name in rasa_environment(settings) if name.startswith("KEFU_")}
    assert rasa_variables() <= derived
    rasa_pod = next(
        container
        for _, document in documents()
        if document["kind"] == "Deployment" and document["metadata"]["name"] == "kefu-rasa"
        for container in containers(document)
    )
    config_maps = {
        document["metadata"]["name"]: document.get("data", {})
        for _, document in documents()
        if document["kind"] == "ConfigMap"
    }
    given = {variable["name"] for variable in rasa_pod.get("env", [])}
    for source in rasa_pod.get("envFrom", []):
        given |= set(config_maps[source["configMapRef"]["name"]])
    assert rasa_variables() <= given, sorted(rasa_variables() - given)
    compose_rasa = yaml.safe_load(COMPOSE.read_text("utf-8"))["services"]["rasa"]
    assert rasa_variables() <= set(compose_rasa["environment"])


def test_references_between_manifests_resolve() -> None:
    secret = yaml.safe_load((K8S / "secret.example.yaml").read_text("utf-8"))
    secret_keys = set(secret["stringData"])
    config_maps = {
        document["metadata"]["name"]
        for _, document in documents()
        if document["kind"] == "ConfigMap"
    }
    claims = {
        document["metadata"]["name"]
        for _, document in documents()
        if document["kind"] == "PersistentVolumeClaim"
    }
    for path, document in documents():
        for container in containers(document):
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in config_maps, path
                else:
                    assert source["secretRef"]["name"] == secret["metadata"]["name"], path
            for variable in container.get("env", []):
                reference = variable.get("valueFrom", {}).get("secretKeyRef")
                if reference:
                    assert reference["key"] in secret_keys, (path, reference)
        volumes = document.get("spec", {}).get("template", {}).get("spec", {}).get("volumes", [])
        for volume in volumes:
            assert volume["persistentVolumeClaim"]["claimName"] in claims, path
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text("utf-8"))["resources"]
    assert sorted(listed) == sorted(
        path.name
        for path in MANIFESTS
        if path.name not in ("kustomization.yaml", "secret.example.yaml")
    )


def routes(module: Path) -> set[str]:
    """The GET routes a FastAPI router module declares, with its prefix."""
    source = module.read_text("utf-8")
    prefix = re.search(r'APIRouter\((?:[^)]*)prefix="([^"]*)"', source)
    paths = re.findall(r'@router\.get\(\s*"([^"]+)"', source)
    return {(prefix.group(1) if prefix else "") + path for path in paths}


def actions_source() -> str:
    return (PROJECT_ROOT / "actions" / "server.py").read_text("utf-8")


def _memory_mib(quantity: str) -> float:
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)(Mi|Gi)", quantity).groups()  # type: ignore[union-attr]
    return float(number) * (1024 if unit == "Gi" else 1)


def test_deployments_have_probes_on_real_routes_and_sized_resources() -> None:
    open_paths = re.search(r"OPEN_PATHS = .*", actions_source())
    assert open_paths is not None
    # Read from the source: importing the gateway (torch, the encoders) takes long.
    real = {
        "kefu-gateway": routes(PROJECT_ROOT / "api" / "health.py")
        | routes(PROJECT_ROOT / "api" / "knowledge.py"),
        "kefu-actions": set(re.findall(r'"(/[a-z]*)"', open_paths.group())),
        "kefu-rasa": {"/"},  # Rasa's own root route, which needs no token
    }
    deployments = [d for _, d in documents() if d["kind"] == "Deployment"]
    assert {d["metadata"]["name"] for d in deployments} == set(real)
    for deployment in deployments:
        name = deployment["metadata"]["name"]
        for container in containers(deployment):
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                assert probe in container, f"{name} 缺少 {probe}"
                path = container[probe].get("httpGet", {}).get("path")
                assert path is None or path in real[name], f"{name} 的 {probe} 探测不存在的 {path}"
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"])
            request = _memory_mib(resources["requests"]["memory"])
            limit = _memory_mib(resources["limits"]["memory"])
            assert MEASURED_RSS_MIB[name] <= request <= limit, f"{name} 的内存请求小于实测"
    autoscaler = next(d for _, d in documents() if d["kind"] == "HorizontalPodAutoscaler")
    assert autoscaler["spec"]["scaleTargetRef"]["name"] == "kefu-gateway"
    assert autoscaler["spec"]["minReplicas"] >= 2


def test_dockerfiles_copy_files_that_exist_and_pin_versions() -> None:
    setup = (PROJECT_ROOT / "scripts" / "setup.sh").read_text("utf-8")
    uv_version = re.search(r"^UV_VERSION=(\S+)", setup, re.MULTILINE)
    assert uv_version is not None
    for dockerfile in DOCKERFILES:
        content = dockerfile.read_text("utf-8").replace("\\\n", " ")
        images = re.findall(r"^FROM\s+(\S+)", content, re.MULTILINE)
        assert images and all(re.search(r":\d+\.\d+", image) for image in images), images
        assert f"ARG UV_VERSION={uv_version.group(1)}" in content
        copies = re.findall(r"^COPY\s+(?!--from)(.+)$", content, re.MULTILINE)
        assert copies
        for line in copies:
            sources = line.split()[:-1]
            for source in sources:
                assert (PROJECT_ROOT / source).exists(), f"{dockerfile.name} 复制不存在的 {source}"
        assert (dockerfile.parent / f"{dockerfile.name}.dockerignore").exists()
    compose = yaml.safe_load(COMPOSE.read_text("utf-8"))
    for service in compose["services"].values():
        image = service["image"]
        assert re.search(r":\d+\.\d+", image), f"compose 的镜像没有固定版本：{image}"
        if "build" in service:
            assert (PROJECT_ROOT / service["build"]["dockerfile"]).exists()


@pytest.fixture(scope="module")
def kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        pytest.skip("没有 kubectl（新机器上可能未安装）：跳过 kustomize 渲染与 --dry-run=client")
    return found


def test_kustomize_renders_every_manifest(kubectl: str) -> None:
    rendered = subprocess.run(
        [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    kinds = {document["kind"] for document in yaml.safe_load_all(rendered) if document}
    assert {"Deployment", "HorizontalPodAutoscaler", "Ingress", "Job"} <= kinds
    assert not re.search(r"@[A-Z_]+@", rendered), "清单里还有没替换的占位符"


def test_kubectl_dry_run_client(kubectl: str, tmp_path: Path) -> None:
    command = [kubectl, "apply", "--dry-run=client", "--validate=false", "--request-timeout=5s"]
    for path in MANIFESTS:
        if path.name != "kustomization.yaml":
            command += ["-f", str(path)]
    result = subprocess.run(
        command,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env={"KUBECONFIG": str(tmp_path / "none"), "PATH": "/usr/bin:/bin"},
    )
    offline = ("connection refused", "couldn't get current server API group list", "no such host")
    if result.returncode != 0 and any(reason in result.stderr for reason in offline):
        pytest.skip("这个 kubectl 的 --dry-run=client 需要连集群取 API 列表，离线跑不了")
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(not NGINX.exists(), reason="缺少 nginx：运行 scripts/setup.sh system")
def test_nginx_template_renders_to_a_valid_config(tmp_path: Path) -> None:
    layout = ScaleLayout(8080, 5005, 5055, (8001, 8002), (5006, 5007), (5056, 5057))
    for temporary in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / "tmp" / temporary).mkdir(parents=True)
    config = render_nginx_config(layout, tmp_path)
    assert config.count("server 127.0.0.1:") == 6
    (tmp_path / "nginx.conf").write_text(config, "utf-8")
    checked = subprocess.run(
        [str(NGINX), "-t", "-p", str(tmp_path), "-c", "nginx.conf"],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert checked.returncode == 0, checked.stderr
