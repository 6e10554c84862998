"""The deployment kit by structure: the Dockerfile installs what the README installs, compose and k8s name the
health endpoint, the stickiness and the resource limits, and every cap equals the app's own.

(Building the image and running a cluster are not possible in CI; deploy/nginx.conf itself runs for real in
tests/browser/test_proxy.py.)
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from resnext_viz.ui.inside import UPLOAD_MB

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
HEALTH = "/_stcore/health"


def _config() -> dict:
    return tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())


def _k8s(name: str) -> dict:
    docs = list(yaml.safe_load_all((DEPLOY / "k8s" / name).read_text()))
    assert len(docs) == 1, name
    return docs[0]


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """Return (INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", "\n".join(x for x in (ROOT / "Dockerfile").read_text().splitlines()
                                         if not x.lstrip().startswith("#")))
    return [(m.group(1).upper(), m.group(2)) for m in re.finditer(r"^\s*(\w+)\s+(.*)$", text, flags=re.M)]


def _readme_install_requirements() -> str:
    run = (ROOT / "README.md").read_text().split("## Run the app", 1)[1].split("##", 1)[0]
    return re.search(r"pip install -r (\S+)", run).group(1)


def test_the_app_caps_agree():
    cfg = _config()["server"]
    assert cfg["maxUploadSize"] == UPLOAD_MB == 20
    assert cfg["disconnectedSessionTTL"] >= 120          # at least Streamlit's default: reconnects keep their session
    assert re.fullmatch(r"\d+mb", cfg["maxCacheDataSize"])  # a bound, not "unlimited"


def test_dockerfile_installs_the_readme_s_requirements_file_with_the_cpu_torch():
    steps = _dockerfile_instructions()
    wanted = _readme_install_requirements()
    assert wanted == "requirements.txt"
    installs = [a for i, a in steps if i == "RUN" and "pip install" in a]
    assert len(installs) == 1 and f"-r {wanted}" in installs[0], installs
    assert "--extra-index-url" in installs[0] and "${TORCH_INDEX}" in installs[0]
    args = dict(a.split("=", 1) for i, a in steps if i == "ARG" and "=" in a)
    assert args["TORCH_INDEX"].endswith("/whl/cpu") and args["BAKE_WEIGHTS"] == "0"
    pins = (ROOT / wanted).read_text()
    assert re.search(r"^torch==2\.13\.0\b", pins, flags=re.M)  # the exact pin the CPU index serves as 2.13.0+cpu
    assert any("BAKE_WEIGHTS" in a and "load_model" in a for i, a in steps if i == "RUN")
    assert [a for i, a in steps if i == "FROM"] == ["python:3.11-slim-bookworm"]
    assert any(i == "RUN" and "apt-get install" in a and "chromium" in a for i, a in steps)


def test_dockerfile_runs_as_a_non_root_user_with_a_healthcheck():
    steps = _dockerfile_instructions()
    users = [a for i, a in steps if i == "USER"]
    assert users and not re.match(r"(root|0)(:|$)", users[-1])
    last_user = max(n for n, (i, _) in enumerate(steps) if i == "USER")
    assert all(i != "RUN" for i, _ in steps[last_user:])   # nothing runs as root after it
    (check,) = [a for i, a in steps if i == "HEALTHCHECK"]
    assert HEALTH in check and "8501" in check
    assert any(i == "CMD" and "streamlit" in a and "0.0.0.0" in a for i, a in steps)


def test_dockerignore_keeps_the_checkout_s_environment_out():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "tests", "bench"} <= set(ignored)
    assert not {"pages", "resnext_viz", ".streamlit", "requirements.txt", "app.py"} & set(ignored)


def test_compose_runs_replicas_with_health_checks_behind_the_repo_s_nginx():
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    app, nginx = compose["services"]["app"], compose["services"]["nginx"]
    assert HEALTH in " ".join(app["healthcheck"]["test"])
    assert "${REPLICAS:-2}" == app["deploy"]["replicas"]
    limits = app["deploy"]["resources"]["limits"]
    assert limits["memory"] and limits["cpus"]
    assert app["build"]["context"] == ".." and "BAKE_WEIGHTS" in app["build"]["args"]
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    assert nginx["depends_on"]["app"]["condition"] == "service_healthy"
    assert nginx["healthcheck"]["test"]
    assert "server app:8501" in (DEPLOY / "nginx.conf").read_text()  # the compose service name, every replica


def test_nginx_conf_is_sticky_upgrades_the_websocket_and_caps_uploads_like_the_app():
    conf = (DEPLOY / "nginx.conf").read_text()
    code = "\n".join(line.split("#", 1)[0] for line in conf.splitlines())
    assert re.search(r"hash \$route_key consistent;", code) and "$cookie_rvz_route" in code
    assert "ip_hash" not in code
    assert re.search(rf"client_max_body_size {_config()['server']['maxUploadSize']}m;", code)
    stream = code.split("location = /_stcore/stream", 1)[1].split("}", 1)[0]
    assert "proxy_set_header Upgrade $http_upgrade;" in stream and "$connection_upgrade" in stream
    assert int(re.search(r"proxy_read_timeout (\d+)s;", stream).group(1)) >= 3600
    assert "add_header X-Upstream $upstream_addr always;" in code


def test_k8s_deployment_probes_health_and_sets_requests_and_limits():
    dep = _k8s("deployment.yaml")
    (container,) = dep["spec"]["template"]["spec"]["containers"]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["path"] == HEALTH, probe
    res = container["resources"]
    for kind in ("requests", "limits"):
        assert res[kind]["cpu"] and res[kind]["memory"], kind
    assert dep["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    labels = dep["spec"]["template"]["metadata"]["labels"]
    assert dep["spec"]["selector"]["matchLabels"].items() <= labels.items()
    svc = _k8s("service.yaml")
    assert svc["spec"]["selector"].items() <= labels.items()
    assert svc["spec"]["ports"][0]["targetPort"] == container["ports"][0]["name"]


def test_k8s_ingress_has_cookie_affinity_websocket_timeouts_and_the_upload_cap():
    ing = _k8s("ingress.yaml")
    notes = ing["metadata"]["annotations"]
    prefix = "nginx.ingress.kubernetes.io/"
    assert notes[prefix + "affinity"] == "cookie"
    assert notes[prefix + "session-cookie-name"]
    assert int(notes[prefix + "proxy-read-timeout"]) >= 3600 and int(notes[prefix + "proxy-send-timeout"]) >= 3600
    assert notes[prefix + "proxy-body-size"] == f"{_config()['server']['maxUploadSize']}m"
    assert ing["spec"]["ingressClassName"] == "nginx"
    backend = ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == _k8s("service.yaml")["metadata"]["name"]


@pytest.mark.parametrize("name", ["deployment.yaml", "service.yaml", "ingress.yaml", "hpa.yaml"])
def test_kustomization_lists_every_manifest(name):
    assert name in yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())["resources"]


def test_k8s_hpa_scales_the_deployment():
    hpa = _k8s("hpa.yaml")
    assert hpa["spec"]["scaleTargetRef"]["name"] == _k8s("deployment.yaml")["metadata"]["name"]
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] >= 600
