#!/usr/bin/env python3
"""The Kubernetes manifests, rendered offline with `kubectl kustomize` for every overlay, hold
what a restricted OpenShift namespace and an auditor expect: non-root containers without
privilege escalation, read-only root file systems, every capability dropped, probes on /healthz
and /readyz, requests and limits, no Secret value inline, a Role that only reads pods in each
target namespace, and a NetworkPolicy that admits the router only. Each overlay's datafix.toml is
read by the datafix binary itself.

    manifests_test.py DEPLOY_DIR DATAFIX_BINARY
"""
import copy
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import unittest

import yaml

DEPLOY_DIR = None
DATAFIX = None
OVERLAYS = ["dev", "test", "prod"]
# The Secrets the pods reference; the team creates them (README, "Deploy on OpenShift").
REFERENCED_SECRETS = {"datafix-keys", "datafix-logins", "datafix-ledger-cluster-cert"}


def render(overlay):
    out = subprocess.run(
        ["kubectl", "kustomize", os.path.join(DEPLOY_DIR, "kubernetes", "overlays", overlay)],
        check=True, capture_output=True, text=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def of_kind(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def container_problems(pod_spec):
    """Everything in a pod spec that a restricted SCC or the image's contract forbids."""
    problems = []
    pod_ctx = pod_spec.get("securityContext", {})
    if pod_spec.get("hostNetwork") or pod_spec.get("hostPID") or pod_spec.get("hostIPC"):
        problems.append("pod shares a host namespace")
    for v in pod_spec.get("volumes", []):
        if "hostPath" in v:
            problems.append(f"volume {v['name']} is a hostPath")
    for c in pod_spec.get("initContainers", []) + pod_spec.get("containers", []):
        name = c["name"]
        ctx = c.get("securityContext", {})
        if not (ctx.get("runAsNonRoot") or pod_ctx.get("runAsNonRoot")):
            problems.append(f"{name}: runAsNonRoot is not set")
        # OpenShift assigns the UID; a fixed one would not be admitted by the restricted SCC.
        if "runAsUser" in ctx or "runAsUser" in pod_ctx:
            problems.append(f"{name}: names a UID")
        if ctx.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation is not false")
        if ctx.get("privileged"):
            problems.append(f"{name}: privileged")
        if ctx.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{name}: root file system is writable")
        if "ALL" not in ctx.get("capabilities", {}).get("drop", []):
            problems.append(f"{name}: capabilities are not all dropped")
        if ctx.get("capabilities", {}).get("add"):
            problems.append(f"{name}: adds capabilities")
        res = c.get("resources", {})
        for part in ("requests", "limits"):
            for what in ("cpu", "memory"):
                if what not in res.get(part, {}):
                    problems.append(f"{name}: no {part}.{what}")
    return problems


def probe_problems(pod_spec):
    problems = []
    server = [c for c in pod_spec["containers"] if c["name"] == "datafix"]
    if not server:
        return ["no datafix container"]
    c = server[0]
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"),
                        ("startupProbe", "/healthz")):
        get = c.get(probe, {}).get("httpGet", {})
        if get.get("path") != path:
            problems.append(f"{probe} does not ask {path}")
        if get.get("port") not in ports and get.get("port") not in ports.values():
            problems.append(f"{probe} names no port of the container")
    return problems


def inline_secret_problems(docs):
    """Secret values written into the manifests instead of referenced."""
    problems = []
    for d in docs:
        if d["kind"] == "Secret" and (d.get("data") or d.get("stringData")):
            problems.append(f"Secret {d['metadata']['name']} holds values")
        if d["kind"] == "ConfigMap":
            for key, text in d.get("data", {}).items():
                if re.search(r"password\s*=|://[^/@:]+:[^/@]+@", text):
                    problems.append(f"ConfigMap {d['metadata']['name']} {key} holds a password")
        if d["kind"] == "Deployment":
            spec = d["spec"]["template"]["spec"]
            for c in spec.get("initContainers", []) + spec.get("containers", []):
                for e in c.get("env", []):
                    if re.search(r"PASSWORD|TOKEN|SECRET|KEY", e["name"]) and "value" in e:
                        problems.append(f"{c['name']}: env {e['name']} has an inline value")
            for v in spec.get("volumes", []):
                if "secret" in v and v["secret"]["secretName"] not in REFERENCED_SECRETS:
                    problems.append(f"volume {v['name']} references an undocumented Secret")
    return problems


class Manifests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("kubectl") is None:
            raise RuntimeError("kubectl is needed to render the manifests (kubectl kustomize)")
        cls.rendered = {o: render(o) for o in OVERLAYS}

    def deployment(self, overlay):
        deployments = of_kind(self.rendered[overlay], "Deployment")
        self.assertEqual(len(deployments), 1)
        return deployments[0]

    def test_every_container_is_restricted(self):
        for overlay in OVERLAYS:
            spec = self.deployment(overlay)["spec"]["template"]["spec"]
            self.assertEqual(container_problems(spec), [], overlay)
            self.assertEqual(spec["securityContext"]["seccompProfile"]["type"], "RuntimeDefault")

    def test_probes_ask_health_and_readiness(self):
        for overlay in OVERLAYS:
            spec = self.deployment(overlay)["spec"]["template"]["spec"]
            self.assertEqual(probe_problems(spec), [], overlay)

    def test_no_secret_value_is_inline(self):
        for overlay in OVERLAYS:
            self.assertEqual(inline_secret_problems(self.rendered[overlay]), [], overlay)
            self.assertEqual(of_kind(self.rendered[overlay], "Secret"), [], overlay)

    def test_the_checks_catch_what_they_look_for(self):
        docs = self.rendered["prod"]
        bad = copy.deepcopy(self.deployment("prod"))
        c = bad["spec"]["template"]["spec"]["containers"][0]
        c["securityContext"]["readOnlyRootFilesystem"] = False
        c["securityContext"]["allowPrivilegeEscalation"] = True
        c["securityContext"]["capabilities"] = {"drop": ["NET_RAW"]}
        del c["resources"]["limits"]
        c["readinessProbe"]["httpGet"]["path"] = "/healthz"
        c["env"].append({"name": "PGPASSWORD", "value": "fabricated"})
        problems = container_problems(bad["spec"]["template"]["spec"])
        for expected in ("root file system is writable", "allowPrivilegeEscalation",
                         "capabilities are not all dropped", "no limits.cpu"):
            self.assertTrue(any(expected in p for p in problems), (expected, problems))
        self.assertIn("readinessProbe does not ask /readyz",
                      probe_problems(bad["spec"]["template"]["spec"]))
        secret = {"kind": "Secret", "metadata": {"name": "x"}, "stringData": {"k": "v"}}
        found = inline_secret_problems([bad, secret])
        self.assertIn("Secret x holds values", found)
        self.assertIn("datafix: env PGPASSWORD has an inline value", found)
        self.assertEqual(inline_secret_problems(docs), [])

    def test_each_target_namespace_grants_get_and_list_pods_only(self):
        for overlay in OVERLAYS:
            docs = self.rendered[overlay]
            config = tomllib.loads(self.config_text(overlay))
            targets = {e["openshift"]["namespace"] for e in config["environment"]}
            own = self.deployment(overlay)["metadata"]["namespace"]
            roles = of_kind(docs, "Role")
            self.assertEqual({r["metadata"]["namespace"] for r in roles}, targets, overlay)
            for r in roles:
                self.assertEqual(r["rules"], [{"apiGroups": [""], "resources": ["pods"],
                                               "verbs": ["get", "list"]}])
            bindings = of_kind(docs, "RoleBinding")
            self.assertEqual({b["metadata"]["namespace"] for b in bindings}, targets)
            for b in bindings:
                self.assertEqual(b["subjects"], [{"kind": "ServiceAccount", "name": "datafix",
                                                  "namespace": own}])
            self.assertEqual(of_kind(docs, "ClusterRole") + of_kind(docs, "ClusterRoleBinding"),
                             [])
            self.assertEqual(self.deployment(overlay)["spec"]["template"]["spec"]
                             ["serviceAccountName"], "datafix")

    def test_network_policy_admits_the_router_and_reaches_the_databases(self):
        for overlay in OVERLAYS:
            docs = self.rendered[overlay]
            config = tomllib.loads(self.config_text(overlay))
            targets = sorted(e["openshift"]["namespace"] for e in config["environment"])
            (policy,) = of_kind(docs, "NetworkPolicy")
            spec = policy["spec"]
            self.assertEqual(sorted(spec["policyTypes"]), ["Egress", "Ingress"])
            self.assertEqual(len(spec["ingress"]), 1)
            self.assertEqual(spec["ingress"][0]["from"], [{"namespaceSelector": {"matchLabels": {
                "policy-group.network.openshift.io/ingress": ""}}}])
            self.assertEqual(spec["ingress"][0]["ports"], [{"port": 8470, "protocol": "TCP"}])
            reached = []
            for rule in spec["egress"]:
                for peer in rule.get("to", []):
                    for expr in peer.get("namespaceSelector", {}).get("matchExpressions", []):
                        if {"port": 5432, "protocol": "TCP"} in rule["ports"]:
                            reached += expr["values"]
            self.assertEqual(sorted(reached), targets, overlay)
            smtp = [r for r in spec["egress"] if {"port": 587, "protocol": "TCP"} in r["ports"]]
            self.assertEqual(len(smtp), 1)
            self.assertNotIn("192.0.2.25/32", str(smtp))  # the base's placeholder is replaced

    def test_objects_are_labelled_and_selectors_are_the_pods_own(self):
        # `oc get all,cm,pvc,role,rolebinding -l app.kubernetes.io/part-of=datafix` finds every
        # object. The selectors keep exactly the pods' two labels (a Deployment's selector cannot
        # change once applied), and the egress peers still select PostgreSQL pods, not datafix's.
        pod_labels = {"app.kubernetes.io/name": "datafix", "app.kubernetes.io/component": "server"}
        for overlay in OVERLAYS:
            docs = self.rendered[overlay]
            for d in docs:
                labels = d["metadata"].get("labels", {})
                what = (overlay, d["kind"], d["metadata"]["name"])
                self.assertEqual(labels.get("app.kubernetes.io/name"), "datafix", what)
                self.assertEqual(labels.get("app.kubernetes.io/part-of"), "datafix", what)
            deployment = self.deployment(overlay)
            self.assertEqual(deployment["spec"]["selector"], {"matchLabels": pod_labels})
            self.assertEqual(deployment["spec"]["template"]["metadata"]["labels"], pod_labels)
            (service,) = of_kind(docs, "Service")
            self.assertEqual(service["spec"]["selector"], pod_labels)
            (policy,) = of_kind(docs, "NetworkPolicy")
            self.assertEqual(policy["spec"]["podSelector"], {"matchLabels": pod_labels})
            peers = [p for r in policy["spec"]["egress"] for p in r.get("to", [])]
            self.assertEqual([p["podSelector"]["matchLabels"] for p in peers if "podSelector" in p],
                             [{"postgres-operator.crunchydata.com/cluster": "datafix-ledger"},
                              {"postgres-operator.crunchydata.com/data": "postgres"}], overlay)

    def test_datafix_lives_in_the_namespace_its_configuration_names(self):
        # Everything but the target namespaces' Roles and RoleBindings is in the overlay's own
        # namespace: the one datafix.toml reaches the ledger in. The pods mount the rendered
        # ConfigMap (its name carries the content hash).
        for overlay in OVERLAYS:
            docs = self.rendered[overlay]
            config = tomllib.loads(self.config_text(overlay))
            own = re.search(r"@datafix-ledger-primary\.([a-z0-9-]+)\.svc[:/]",
                            config["server"]["ledger"]).group(1)
            for d in docs:
                if d["kind"] not in ("Role", "RoleBinding"):
                    self.assertEqual(d["metadata"].get("namespace"), own,
                                     (overlay, d["kind"], d["metadata"]["name"]))
            (cm,) = [d for d in of_kind(docs, "ConfigMap")
                     if d["metadata"]["name"].startswith("datafix-config")]
            volumes = {v["name"]: v for v in
                       self.deployment(overlay)["spec"]["template"]["spec"]["volumes"]}
            self.assertEqual(volumes["config"]["configMap"]["name"], cm["metadata"]["name"])

    def test_route_is_tls_edge_to_the_service(self):
        for overlay in OVERLAYS:
            (route,) = of_kind(self.rendered[overlay], "Route")
            self.assertEqual(route["spec"]["tls"]["termination"], "edge")
            self.assertEqual(route["spec"]["tls"]["insecureEdgeTerminationPolicy"], "Redirect")
            (service,) = of_kind(self.rendered[overlay], "Service")
            self.assertEqual(route["spec"]["to"]["name"], service["metadata"]["name"])

    def test_prod_runs_two_servers_on_the_pgo_ledger(self):
        prod = self.deployment("prod")
        self.assertEqual(prod["spec"]["replicas"], 2)
        (pvc,) = of_kind(self.rendered["prod"], "PersistentVolumeClaim")
        self.assertEqual(pvc["spec"]["accessModes"], ["ReadWriteMany"])
        (ledger,) = of_kind(self.rendered["prod"], "PostgresCluster")
        self.assertEqual(ledger["spec"]["instances"][0]["replicas"], 2)
        self.assertIn("NOSUPERUSER", ledger["spec"]["users"][0]["options"])
        config = tomllib.loads(self.config_text("prod"))
        self.assertIn("datafix-ledger-primary", config["server"]["ledger"])
        self.assertIn("sslmode=verify-full", config["server"]["ledger"])

    def config_text(self, overlay):
        (cm,) = [d for d in of_kind(self.rendered[overlay], "ConfigMap")
                 if d["metadata"]["name"].startswith("datafix-config")]
        return cm["data"]["datafix.toml"]

    def test_datafix_reads_every_overlays_configuration(self):
        # The binary checks the file: it is valid, and the report names every environment. The
        # keys and databases do not exist here, so those checks fail, naming them.
        for overlay in OVERLAYS:
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "datafix.toml")
                with open(path, "w") as f:
                    f.write(self.config_text(overlay))
                run = subprocess.run([DATAFIX, "server", "--config", path, "--check-config",
                                      "--output", "json"], capture_output=True, text=True,
                                     env={"PATH": tmp})
                self.assertNotEqual(run.returncode, 0)
                report = yaml.safe_load(run.stdout)  # JSON is YAML
                names = [s["name"] for s in report["sections"]]
                config = tomllib.loads(self.config_text(overlay))
                self.assertEqual(names, ["server"] + [e["name"] for e in config["environment"]])
                key = report["sections"][0]["checks"][0]
                self.assertEqual((key["name"], key["result"]), ("key_file", "failed"))


if __name__ == "__main__":
    DEPLOY_DIR, DATAFIX = sys.argv[1], sys.argv[2]
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:], verbosity=2)
