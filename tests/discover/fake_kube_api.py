#!/usr/bin/env python3
# A stand-in for the Kubernetes API server in datafix's in-cluster discovery tests (a real one
# needs a cluster). It speaks HTTPS with a certificate the test made (signed by the test's own CA)
# and answers the one request datafix sends,
#   GET /api/v1/namespaces/{namespace}/pods?labelSelector=...
# with a v1 PodList as the real API server returns it (items without kind and apiVersion), and
# failures as real v1 Status objects: 401 for a bearer token other than the current one, 403 for
# a namespace the service account may not list, 404 for any other path (or everywhere, when told
# it is not an API server). Watches are refused: datafix must list afresh at every step.
#
#   fake_kube_api.py --cert server.crt --key server.key --state state.json --port-file port
#                    --log requests.jsonl
#
# state.json is read again for every request, so a test changes what the cluster looks like
# (pods, the valid token, permissions) while a datafix server keeps running:
#   {"token": "...", "service_account": "system:serviceaccount:ff61fb-tools:datafix",
#    "pods": [{"name", "namespace", "phase", "ready", "role", "ip", "terminating", "cluster"}],
#    "forbidden": ["ff61fb-prod"], "not_found": false, "hang": false}
# ("hang": the request is accepted and never answered, as by an API server that is stuck).
# Every request is appended to the log as one JSON line: method, path, query, and whether the
# token was the valid one (never the token itself).
import argparse
import json
import os
import ssl
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import fake_cluster_client  # noqa: E402  (the pod documents both stand-ins print)

ARGS = None


def load_state():
    with open(ARGS.state) as f:
        return json.load(f)


def status(code, reason, message, details=None):
    return code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": message, "reason": reason, "details": details or {}, "code": code}


def selector_matches(labels, selector):
    for term in filter(None, selector.split(",")):
        key, _, value = term.partition("=")
        if labels.get(key.strip()) != value.lstrip("=").strip():
            return False
    return True


def pod_of(spec, state):
    pod = {"name": spec["name"], "namespace": spec["namespace"],
           "phase": spec.get("phase", "Running"), "ready": spec.get("ready", True),
           "role": spec.get("role", "master"), "port": 5432,
           "cluster": spec.get("cluster", state.get("cluster", "ccbc")),
           "terminating": spec.get("terminating", False)}
    if "ip" in spec:
        pod["ip"] = spec["ip"]
    return pod


def answer(method, path, query, authorization):
    state = load_state()
    if state.get("hang"):
        time.sleep(3600)
    token_ok = authorization == "Bearer " + state.get("token", "")
    parts = path.strip("/").split("/")
    entry = {"method": method, "path": path, "query": query, "token_ok": token_ok}
    if not token_ok:
        return entry, status(401, "Unauthorized", "Unauthorized")
    if state.get("not_found") or method != "GET" or len(parts) != 5 or \
            parts[:3] != ["api", "v1", "namespaces"] or parts[4] != "pods":
        return entry, status(404, "NotFound", "the server could not find the requested resource")
    namespace = parts[3]
    account = state.get("service_account", "system:serviceaccount:ff61fb-tools:datafix")
    if namespace in state.get("forbidden", []):
        return entry, status(403, "Forbidden",
                             'pods is forbidden: User "%s" cannot list resource "pods" in API '
                             'group "" in the namespace "%s"' % (account, namespace),
                             {"kind": "pods"})
    if "watch" in query:
        return entry, status(400, "BadRequest", "this stand-in serves no watches")
    selector = query.get("labelSelector", [""])[0]
    items = []
    for spec in state.get("pods", []):
        pod = pod_of(spec, state)
        if pod["namespace"] != namespace:
            continue
        if not selector_matches(fake_cluster_client.labels_of(pod), selector):
            continue
        document = fake_cluster_client.pod_document(pod)
        # The API's PodList items carry no kind or apiVersion (the clients' List adds them).
        document.pop("kind")
        document.pop("apiVersion")
        items.append(document)
    return entry, (200, {"kind": "PodList", "apiVersion": "v1",
                         "metadata": {"resourceVersion": "4815170"}, "items": items})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.handle_request("GET")

    def do_POST(self):
        self.handle_request("POST")

    def handle_request(self, method):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        entry, (code, body) = answer(method, url.path, query,
                                     self.headers.get("Authorization", ""))
        with open(ARGS.log, "a") as f:
            f.write(json.dumps(entry) + "\n")
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    for name in ("--cert", "--key", "--state", "--port-file", "--log"):
        parser.add_argument(name, required=True)
    ARGS = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(ARGS.cert, ARGS.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with open(ARGS.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(ARGS.port_file + ".tmp", ARGS.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
