#!/usr/bin/env python3
# A stand-in for `oc` and `kubectl` in datafix's discover tests (the real clients need a cluster).
# It answers the commands datafix runs, with documents in the format the real clients print, and
# forwards ports with a real TCP relay to a local PostgreSQL cluster. The test chooses the
# behaviour with environment variables:
#   DATAFIX_FAKE_PODS     pods, ';'-separated, each name:namespace:phase:ready:role:port[:terminating]
#                         (ready is true/false; port is the local cluster's TCP port the pod stands for)
#   DATAFIX_FAKE_CLUSTER  the PGO cluster label of every pod (default "ccbc")
#   DATAFIX_FAKE_PROJECT  the current project / context namespace (unset: none)
# --kubeconfig FILE (else $KUBECONFIG) is read as a kubeconfig (JSON, which is YAML too) and
# --context NAME (else its current-context) must be one of its contexts, as the real clients
# require; without either, the client behaves as if logged in everywhere.
#   DATAFIX_FAKE_LOG      a file each invocation appends its arguments to (one line each)
#   DATAFIX_FAKE_PID_FILE port-forward writes its pid here as it starts
#   DATAFIX_FAKE_DIE_FILE port-forward fails like a lost stream once this file exists
#   DATAFIX_FAKE_FORWARD_ERROR  port-forward prints this and exits 1 instead of listening
#   DATAFIX_FAKE_GET_ERROR      get pods prints this and exits 1
#   DATAFIX_FAKE_IGNORE_NAMESPACE  get pods returns pods of every namespace (a misbehaving client)
#   DATAFIX_FAKE_GET_HANG       get pods never answers (an unreachable API server)
#   DATAFIX_FAKE_FORWARD_HANG   port-forward runs but never listens
#   DATAFIX_FAKE_PORT_TAKEN_ONCE  a marker file: while it does not exist, port-forward creates it
#                               and fails as if the local port had been taken in the meantime
#   DATAFIX_FAKE_CONTEXT_NAMESPACES  context=namespace pairs, ','-separated: the namespaces each
#                               context's login may see (others answer Forbidden, as RBAC does)
#   DATAFIX_FAKE_ENV_FILE       a file of NAME=value lines read at every invocation, overriding the
#                               variables above (an empty value unsets one): lets a test change
#                               what the cluster looks like to a long-running datafix server
import json
import os
import socket
import sys
import threading
import time


def log_invocation():
    path = os.environ.get("DATAFIX_FAKE_LOG")
    if path:
        with open(path, "a") as f:
            f.write(os.path.basename(sys.argv[0]) + " " + " ".join(sys.argv[1:]) + "\n")


def pods():
    cluster = os.environ.get("DATAFIX_FAKE_CLUSTER", "ccbc")
    out = []
    for spec in filter(None, os.environ.get("DATAFIX_FAKE_PODS", "").split(";")):
        fields = spec.split(":")
        name, namespace, phase, ready, role, port = fields[:6]
        out.append({
            "name": name, "namespace": namespace, "phase": phase, "ready": ready == "true",
            "role": role, "port": int(port), "cluster": cluster,
            "terminating": len(fields) > 6 and fields[6] == "terminating",
        })
    return out


def labels_of(pod):
    instance = pod["name"].rsplit("-", 1)[0]
    return {
        "controller-revision-hash": instance + "-5d8c7b9f4",
        "postgres-operator.crunchydata.com/cluster": pod["cluster"],
        "postgres-operator.crunchydata.com/data": "postgres",
        "postgres-operator.crunchydata.com/instance": instance,
        "postgres-operator.crunchydata.com/instance-set": "instance1",
        "postgres-operator.crunchydata.com/patroni": pod["cluster"] + "-ha",
        "postgres-operator.crunchydata.com/role": pod["role"],
        "statefulset.kubernetes.io/pod-name": pod["name"],
    }


def condition(kind, status):
    return {"lastProbeTime": None, "lastTransitionTime": "2026-01-05T09:12:44Z",
            "status": status, "type": kind}


def pod_document(pod):
    ready = "True" if pod["ready"] else "False"
    running = pod["phase"] == "Running"
    state = ({"running": {"startedAt": "2026-01-05T09:12:40Z"}} if running else
             {"waiting": {"reason": "ContainerCreating"}})
    metadata = {
        "annotations": {"status": '{"conn_url":"postgres://' + pod["name"] + ':5432/postgres"}'},
        "creationTimestamp": "2026-01-05T09:11:58Z",
        "generateName": pod["name"].rsplit("-", 1)[0] + "-",
        "labels": labels_of(pod),
        "name": pod["name"],
        "namespace": pod["namespace"],
        "ownerReferences": [{"apiVersion": "apps/v1", "blockOwnerDeletion": True,
                             "controller": True, "kind": "StatefulSet",
                             "name": pod["name"].rsplit("-", 1)[0],
                             "uid": "00000000-0000-4000-8000-00000000a001"}],
        "resourceVersion": "4815162",
        "uid": "00000000-0000-4000-8000-" + format(sum(map(ord, pod["name"])), "012d"),
    }
    if pod["terminating"]:
        metadata["deletionTimestamp"] = "2026-01-05T10:00:00Z"
        metadata["deletionGracePeriodSeconds"] = 60
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {"containers": [{"name": "database", "image": "registry.example/postgres:15",
                                 "ports": [{"containerPort": 5432, "name": "postgres",
                                            "protocol": "TCP"}]}],
                 "nodeName": "worker-3.example.internal"},
        "status": {
            "conditions": [condition("Initialized", "True"), condition("Ready", ready),
                           condition("ContainersReady", ready),
                           condition("PodScheduled", "True")],
            "containerStatuses": [{"containerID": "cri-o://" + "ab" * 32,
                                   "image": "registry.example/postgres:15",
                                   "imageID": "registry.example/postgres@sha256:" + "cd" * 32,
                                   "lastState": {}, "name": "database", "ready": pod["ready"],
                                   "restartCount": 0, "started": running, "state": state}],
            "hostIP": "10.0.3.17",
            "phase": pod["phase"],
            "podIP": pod.get("ip", "10.128.4.21"),
            "qosClass": "Burstable",
            "startTime": "2026-01-05T09:11:58Z",
        },
    }


def matches(pod, selector):
    labels = labels_of(pod)
    for term in filter(None, selector.split(",")):
        key, _, value = term.partition("=")
        if labels.get(key.strip()) != value.strip():
            return False
    return True


def option(args, name):
    return args[args.index(name) + 1] if name in args else None


def fail(message):
    print(message, file=sys.stderr)
    return 1


def kube_context(args):
    """The context the command runs in: (name, user), or None without a kubeconfig; raises
    SystemExit with the real clients' words when the kubeconfig or context does not exist."""
    path = option(args, "--kubeconfig") or os.environ.get("KUBECONFIG")
    wanted = option(args, "--context")
    if not path:
        if wanted:
            sys.exit(fail('error: context "%s" does not exist' % wanted))
        return None
    if not os.path.exists(path):
        sys.exit(fail("error: stat %s: no such file or directory" % path))
    with open(path) as f:
        config = json.load(f)
    name = wanted or config.get("current-context", "")
    for context in config.get("contexts", []):
        if context.get("name") == name:
            return name, context.get("context", {}).get("user", name)
    sys.exit(fail('error: context "%s" does not exist' % name))


def check_allowed(args, namespace, resource, verb):
    """RBAC as the API server answers it: a context's login sees only its own namespaces."""
    context = kube_context(args)
    table = os.environ.get("DATAFIX_FAKE_CONTEXT_NAMESPACES")
    if context is None or not table:
        return
    allowed = {}
    for pair in filter(None, table.split(",")):
        name, _, ns = pair.partition("=")
        allowed.setdefault(name, set()).add(ns)
    name, user = context
    if namespace not in allowed.get(name, set()):
        sys.exit(fail('Error from server (Forbidden): %s is forbidden: User "%s" cannot %s '
                      'resource "%s" in API group "" in the namespace "%s"'
                      % (resource, user, verb, resource, namespace)))


def get_pods(args):
    check_allowed(args, option(args, "-n") or "default", "pods", "list")
    if os.environ.get("DATAFIX_FAKE_GET_HANG"):
        time.sleep(3600)
    if os.environ.get("DATAFIX_FAKE_GET_ERROR"):
        print(os.environ["DATAFIX_FAKE_GET_ERROR"], file=sys.stderr)
        return 1
    namespace = option(args, "-n") or os.environ.get("DATAFIX_FAKE_PROJECT", "default")
    selector = option(args, "-l") or ""
    # Like the real API server: the namespace and the selector filter. Pods of other namespaces
    # appear only when the test asks for a misbehaving client, so datafix's own check is exercised.
    items = [pod_document(p) for p in pods()
             if (p["namespace"] == namespace or os.environ.get("DATAFIX_FAKE_IGNORE_NAMESPACE"))
             and matches(p, selector)]
    print(json.dumps({"apiVersion": "v1", "items": items, "kind": "List",
                      "metadata": {"resourceVersion": ""}}, indent=4))
    return 0


def relay(source, target):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            target.sendall(data)
    except OSError:
        pass
    for s in (source, target):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def port_forward(args):
    if os.environ.get("DATAFIX_FAKE_PID_FILE"):
        with open(os.environ["DATAFIX_FAKE_PID_FILE"], "w") as f:
            f.write(str(os.getpid()))
    if os.environ.get("DATAFIX_FAKE_FORWARD_ERROR"):
        print(os.environ["DATAFIX_FAKE_FORWARD_ERROR"], file=sys.stderr)
        return 1
    namespace = option(args, "-n")
    check_allowed(args, namespace, "pods/portforward", "create")
    address = option(args, "--address") or "127.0.0.1"
    target = next(a for a in args if a.startswith("pod/"))[4:]
    local, remote = next(a for a in args if ":" in a and a[0].isdigit()).split(":")
    pod = next((p for p in pods() if p["name"] == target and p["namespace"] == namespace), None)
    if pod is None:
        print('Error from server (NotFound): pods "%s" not found' % target, file=sys.stderr)
        return 1
    if pod["phase"] != "Running":
        print("error: unable to forward port because pod is not running. Current status=%s"
              % pod["phase"], file=sys.stderr)
        return 1
    if os.environ.get("DATAFIX_FAKE_FORWARD_HANG"):
        time.sleep(3600)
    taken_marker = os.environ.get("DATAFIX_FAKE_PORT_TAKEN_ONCE")
    port_taken = bool(taken_marker) and not os.path.exists(taken_marker)
    if port_taken:
        open(taken_marker, "w").close()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if port_taken:
            raise OSError("taken")
        listener.bind((address, int(local)))
    except OSError:
        print("Unable to listen on port %s: Listeners failed to create with the following errors: "
              "[unable to create listener: Error listen tcp4 %s:%s: bind: address already in use]"
              % (local, address, local), file=sys.stderr)
        return 1
    listener.listen(16)
    listener.settimeout(0.1)
    print("Forwarding from %s:%s -> %s" % (address, local, remote), flush=True)
    die_file = os.environ.get("DATAFIX_FAKE_DIE_FILE")
    while True:
        if die_file and os.path.exists(die_file):
            print("E0105 09:30:12.000000   4242 portforward.go:413] an error occurred forwarding "
                  "%s -> %s: error forwarding port %s to pod %s: lost connection to pod"
                  % (local, remote, remote, target), file=sys.stderr, flush=True)
            os._exit(1)  # like the real client: open connections are cut, not drained
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            continue
        print("Handling connection for %s" % local, flush=True)
        upstream = socket.create_connection(("127.0.0.1", pod["port"]))
        for a, b in ((conn, upstream), (upstream, conn)):
            threading.Thread(target=relay, args=(a, b), daemon=True).start()


def apply_env_file():
    path = os.environ.get("DATAFIX_FAKE_ENV_FILE")
    if not path or not os.path.exists(path):
        return
    with open(path) as f:
        for line in f:
            name, sep, value = line.rstrip("\n").partition("=")
            if not sep:
                continue
            if value:
                os.environ[name] = value
            else:
                os.environ.pop(name, None)


def main():
    apply_env_file()
    log_invocation()
    args = sys.argv[1:]
    words = [a for a in args if not a.startswith("-")]
    if "project" in args and "-q" in args:
        project = os.environ.get("DATAFIX_FAKE_PROJECT")
        if not project:
            print("error: you do not have rights to view project \"default\"", file=sys.stderr)
            return 1
        print(project)
        return 0
    if args[:3] == ["config", "view", "--minify"]:
        sys.stdout.write(os.environ.get("DATAFIX_FAKE_PROJECT", ""))
        return 0
    if "get" in words and "pods" in words:
        return get_pods(args)
    if "port-forward" in args:
        return port_forward(args)
    print("error: unknown command %r for the datafix test client" % " ".join(args),
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
