"""The deployment files, checked offline: compose resolves, the Kubernetes overlay builds
with probes, limits and disruption budgets, and its rules ConfigMap is a valid rule set."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.common import broker_users
from services.common.rulebook import load_directory

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
KUSTOMIZE = ROOT / "state" / "bin" / "kustomize"  # deploy/local/tools.sh builds it


def _run(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        args,
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_compose_file_resolves_and_names_every_part() -> None:
    users = broker_users.load(ROOT / "deploy" / "rabbitmq" / "users.yaml")
    passwords = {g.password_env: f"pw-{g.user}" for g in broker_users.permissions(users)}
    env = {
        "RABBITMQ_ADMIN_PASSWORD": "x",
        "SURVEY_LINK_SECRET": "y",
        "GRAFANA_PASSWORD": "z",
        "QLOOP_API_KEYS_FILE": "/dev/null",
        **passwords,
    }
    config = yaml.safe_load(_run("docker-compose", "-f", "deploy/compose.yaml", "config", env=env))
    services = config["services"]
    assert {
        "mongo",
        "rabbitmq",
        "intake",
        "workflow",
        "survey",
        "reporting",
        "desk",
        "prometheus",
        "grafana",
    } <= set(services)
    for name in ("intake", "workflow", "survey", "reporting", "desk"):
        assert services[name]["command"] == [name]
        assert "healthcheck" in services[name]
        assert services[name]["environment"]["QLOOP_MONGODB_URL"].endswith("replicaSet=rs0")
        # Its own broker user, made (with its permissions) before it starts; never guest.
        user = next(u for u in users.services if u.service == name)
        password = passwords[user.password_env]
        amqp = f"amqp://{user.user}:{password}@rabbitmq:5672/"
        assert services[name]["environment"]["QLOOP_AMQP_URL"] == amqp
        started = services[name]["depends_on"]["broker-users"]["condition"]
        assert started == "service_completed_successfully"
    making = services["broker-users"]
    assert making["entrypoint"] + making["command"][:2] == ["qloop", "broker", "users"]
    assert set(passwords) <= set(making["environment"])
    assert "guest" not in yaml.safe_dump(config)
    assert "--replSet" in services["mongo"]["command"]


def _overlay() -> list[dict[str, Any]]:
    out = _run(
        str(KUSTOMIZE),
        "build",
        "--load-restrictor",
        "LoadRestrictionsNone",
        "deploy/k8s/overlays/sz",
    )
    return [d for d in yaml.safe_load_all(out) if d]


def test_kubernetes_overlay_has_probes_limits_budgets_and_scaling() -> None:
    documents = _overlay()
    deployments = [d for d in documents if d["kind"] == "Deployment"]
    assert {d["metadata"]["name"] for d in deployments} == {
        "qloop-intake",
        "qloop-workflow",
        "qloop-survey",
        "qloop-reporting",
        "qloop-desk",
    }
    for deployment in deployments:
        assert deployment["metadata"]["namespace"] == "qloop-sz"
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["resources"]["limits"]["memory"]
        secrets = {
            e["valueFrom"]["secretKeyRef"]["key"] for e in container["env"] if "valueFrom" in e
        }
        needs_link_secret = deployment["metadata"]["name"] != "qloop-desk"
        component = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
        assert secrets == {f"amqp-url-{component}", "mongodb-url"} | (
            {"survey-link-secret"} if needs_link_secret else set()
        )
    budgets = {
        d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"]
        for d in documents
        if d["kind"] == "PodDisruptionBudget"
    }
    assert budgets == {"intake", "workflow", "survey", "reporting", "desk"}
    scaled = {
        d["spec"]["scaleTargetRef"]["name"]
        for d in documents
        if d["kind"] == "HorizontalPodAutoscaler"
    }
    assert "qloop-workflow" not in scaled and "qloop-intake" in scaled


def test_kubernetes_job_creates_a_broker_user_for_every_service(tmp_path: Path) -> None:
    documents = _overlay()
    [job] = [d for d in documents if d["kind"] == "Job"]
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] + container["args"][:2] == ["qloop", "broker", "users"]
    [volume] = job["spec"]["template"]["spec"]["volumes"]
    [users] = [d for d in documents if d["metadata"]["name"] == volume["configMap"]["name"]]
    path = tmp_path / "users.yaml"
    path.write_text(users["data"]["users.yaml"], encoding="utf-8")
    declared = {u.service for u in broker_users.load(path).services}
    deployed = {
        d["metadata"]["labels"]["app.kubernetes.io/component"]
        for d in documents
        if d["kind"] == "Deployment"
    }
    assert deployed <= declared


def test_rules_configmap_is_the_sites_valid_rule_set(tmp_path: Path) -> None:
    documents = _overlay()
    [rules] = [
        d
        for d in documents
        if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("qloop-rules")
    ]
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    volume = deployment["spec"]["template"]["spec"]["volumes"][0]
    assert volume["configMap"]["name"] == rules["metadata"]["name"]
    for item in volume["configMap"]["items"]:  # lay the files out as the pod sees them
        path = tmp_path / item["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rules["data"][item["key"]], encoding="utf-8")
    assert set(load_directory(tmp_path)) == {"sz"}


def test_alert_rules_are_valid_and_their_unit_tests_pass() -> None:
    _run("promtool", "check", "rules", "deploy/prometheus/alerts.yml")
    out = _run("promtool", "test", "rules", "deploy/prometheus/alerts.test.yml")
    assert "SUCCESS" in out


def test_every_alert_has_a_runbook_entry() -> None:
    alerts = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())
    runbook = (ROOT / "docs/operations.md").read_text(encoding="utf-8")
    for rule in alerts["groups"][0]["rules"]:
        anchor = rule["annotations"]["runbook"].split("#", 1)[1]
        assert f'<a id="{anchor}"></a>' in runbook, anchor


def test_grafana_dashboard_queries_metrics_the_services_define() -> None:
    import json
    import re

    dashboard = json.loads((ROOT / "deploy/grafana/qloop.json").read_text())
    sources = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "services").rglob("*.py"))
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            for name in re.findall(r"\b(qloop_[a-z_]+?)(?:_bucket)?\b", target["expr"]):
                assert f'"{name}"' in sources, (panel["title"], name)
