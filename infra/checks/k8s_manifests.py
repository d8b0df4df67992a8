"""The project's rules on the rendered manifests (infra/checks/k8s-manifests), beside the schemas.

usage: k8s_manifests.py RENDERED.yaml OUT_DIR NAME
Splits the rendered stream into one file per object in OUT_DIR (for kubernetes-validate), sets
aside custom resources (no schema to check them against: named on stdout) and checks what the
schemas cannot: the server's drain fits its grace period, its probes are /readyz and /healthz, a
PodDisruptionBudget covers it, the Asterisk nodes own their machines' network, every Secret and
ConfigMap a workload names exists (or is one the operator is told to create).
"""

import os
import sys

import yaml

# Objects of these API groups are custom resources: the Kubernetes schemas do not know them.
CRD_GROUPS = ("postgresql.cnpg.io/", "monitoring.coreos.com/")
# Made by the operator by hand (docs/deploy.md): the edge's configuration and its environment,
# the ingress's TLS certificate (cert-manager or the operator).
EXTERNAL = {("ConfigMap", "callbase-kamailio"), ("Secret", "callbase-kamailio"), ("Secret", "callbase-tls")}


def fail(name, msg):
    print(f"{name}: {msg}", file=sys.stderr)
    return 1


def env_of(container):
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def refs(pod):
    """(kind, name) of every ConfigMap and Secret a pod spec names."""
    out = set()
    for c in pod.get("containers", []) + pod.get("initContainers", []):
        for ef in c.get("envFrom", []):
            for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                if key in ef and not ef[key].get("optional"):
                    out.add((kind, ef[key]["name"]))
        for e in c.get("env", []):
            src = e.get("valueFrom", {})
            if "secretKeyRef" in src:
                out.add(("Secret", src["secretKeyRef"]["name"]))
            if "configMapKeyRef" in src:
                out.add(("ConfigMap", src["configMapKeyRef"]["name"]))
    for v in pod.get("volumes", []):
        if "configMap" in v:
            out.add(("ConfigMap", v["configMap"]["name"]))
        if "secret" in v:
            out.add(("Secret", v["secret"]["secretName"]))
    return out


def main():
    rendered, out_dir, name = sys.argv[1:4]
    with open(rendered) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    os.makedirs(out_dir, exist_ok=True)
    errors = 0
    objects = {}
    for i, d in enumerate(docs):
        kind, meta = d.get("kind"), d.get("metadata", {})
        objects[(kind, meta.get("name"))] = d
        if d.get("apiVersion", "").startswith(CRD_GROUPS):
            print(f"{name}: skipped {d['apiVersion']} {kind} {meta.get('name')}: a custom resource, no Kubernetes schema")
            continue
        with open(os.path.join(out_dir, f"{i:03d}-{kind}-{meta.get('name')}.yaml"), "w") as f:
            yaml.safe_dump(d, f)

    server = objects.get(("Deployment", "callbase-server"))
    if not server:
        return fail(name, "no Deployment callbase-server")
    pod = server["spec"]["template"]["spec"]
    main_c = next(c for c in pod["containers"] if c["name"] == "server")
    settings = {}
    for (kind, _), d in objects.items():
        if kind == "ConfigMap" and d["metadata"]["name"].startswith("callbase-settings"):
            settings = d.get("data", {})
    drain = int(settings.get("CALLBASE__HTTP__DRAIN_SECS", 20))
    pause = main_c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    grace = pod.get("terminationGracePeriodSeconds", 30)
    if grace < pause + drain:
        errors += fail(name, f"server: terminationGracePeriodSeconds {grace} < preStop {pause} s + http.drain_secs {drain} s")
    if main_c.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/readyz":
        errors += fail(name, "server: the readiness probe is not /readyz")
    if main_c.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/healthz":
        errors += fail(name, "server: the liveness probe is not /healthz")
    labels = server["spec"]["template"]["metadata"]["labels"]
    pdbs = [d for (k, _), d in objects.items() if k == "PodDisruptionBudget"]
    if not any(all(labels.get(k) == v for k, v in p["spec"]["selector"]["matchLabels"].items()) for p in pdbs):
        errors += fail(name, "server: no PodDisruptionBudget selects its pods")

    ast = objects.get(("StatefulSet", "asterisk"))
    if not ast:
        errors += fail(name, "no StatefulSet asterisk")
    else:
        apod = ast["spec"]["template"]["spec"]
        if not apod.get("hostNetwork") and not apod.get("nodeSelector"):
            errors += fail(name, "asterisk: neither hostNetwork nor a dedicated node pool")
        register = [c for c in apod.get("initContainers", []) if c["args"][:2] == ["node", "register"]]
        if not register:
            errors += fail(name, "asterisk: no `callbase node register` init container")
        aenv = env_of(next(c for c in apod["containers"] if c["name"] == "asterisk"))
        if aenv.get("NODE_ID") != "$(POD_NAME)" or "$(ORDINAL)" not in (aenv.get("PG_AST_ROLE") or ""):
            errors += fail(name, "asterisk: node id and role must come from the pod's name and ordinal")

    # The base leaves the Secrets to its overlays: only a whole deployment must name no missing one.
    complete = "/overlays/" in name
    for (kind, oname), d in objects.items() if complete else ():
        spec = d.get("spec", {})
        pod = spec.get("template", {}).get("spec") if kind in ("Deployment", "StatefulSet", "DaemonSet") else None
        if not pod:
            continue
        for ref in refs(pod):
            if ref not in objects and ref not in EXTERNAL:
                errors += fail(name, f"{kind} {oname} names {ref[0]} {ref[1]}, which is not in the manifests")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
