#!/usr/bin/env python3
"""The include rules of src/, checked on the source text (ctest `include_rules`).

The static libraries enforce the layer order only for symbols that reach the linker; an inline
function or a template from a higher layer would slip through. This reads every #include of
src/ and refuses:
  - a project include of a layer to the right (core -> model -> sql -> targetdb -> backup ->
    discover -> ledger -> workflow -> notify -> run -> server -> cli; src/main.cpp is above them all);
  - sql/internal/ (libpg_query's types) outside src/sql/;
  - a third-party header outside the files that may include it (RULES below): libpq, libpg_query,
    toml++, libmicrohttpd, cpp-httplib, CLI11, and the whole of nlohmann/json in a header.
`--self-test` plants one violation of each kind in a temporary tree and expects each reported.
"""
import pathlib
import re
import sys
import tempfile

LAYERS = ["core", "model", "sql", "targetdb", "backup", "discover", "ledger", "workflow", "notify",
          "run", "server", "cli"]

# header -> (files or folders that may include it, why)
RULES = {
    "libpq-fe.h": ({"targetdb/connection.cpp", "ledger/postgresql_session.cpp",
                    "discover/conninfo.cpp", "backup/pg_dump_backup.cpp"},
                   "libpq: the target's connection, the ledger's PostgreSQL session, and libpq's "
                   "own conninfo parser for discovery and backup"),
    "pg_query.h": ({"sql/"}, "libpg_query belongs to the SQL guard"),
    "pg_query/pg_query.pb-c.h": ({"sql/internal/"}, "libpg_query's tree types"),
    "toml++/toml.hpp": ({"server/config", "discover/pod_target.cpp"},
                        "TOML is read by the configuration reader only"),
    "microhttpd.h": ({"server/http_server.cpp"}, "the HTTP server behind http.hpp"),
    "httplib.h": ({"cli/", "server/oidc_provider.cpp"},
                  "cpp-httplib is the CLI's client (the server answers through libmicrohttpd)"),
    "CLI/CLI.hpp": ({"cli/"}, "CLI11 parses the command line"),
}
# The whole nlohmann/json in a header costs every includer; these headers need it by value.
JSON_HEADERS = {"sql/internal/json_tree.hpp", "sql/internal/table_writes.hpp",
                "server/change_summary.hpp", "server/api_error.hpp",
                "server/id_token.hpp", "cli/preflight_view.hpp", "cli/output.hpp",
                "cli/client.hpp", "cli/verb_support.hpp", "cli/request_view.hpp"}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def layer_of(rel):
    first = rel.split("/", 1)[0]
    if first in LAYERS:
        return LAYERS.index(first)
    return len(LAYERS)  # main.cpp and anything at the top


def allowed(rel, places):
    return any(rel == p or (p.endswith("/") and rel.startswith(p)) or
               (not p.endswith("/") and not p.endswith((".cpp", ".hpp")) and rel.startswith(p))
               for p in places)


def problems(src):
    found = []
    for path in sorted(src.rglob("*")):
        if path.suffix not in (".cpp", ".hpp", ".inc") or not path.is_file():
            continue
        rel = path.relative_to(src).as_posix()
        text = path.read_text(errors="replace")
        for kind, name in INCLUDE.findall(text):
            if kind == '"' and "/" in name and name.split("/", 1)[0] in LAYERS:
                target = LAYERS.index(name.split("/", 1)[0])
                if target > layer_of(rel):
                    found.append(f"{rel}: includes {name}, a layer to its right")
                if name.startswith("sql/internal/") and not rel.startswith("sql/"):
                    found.append(f"{rel}: includes {name}, which is internal to sql/")
                continue
            for header, (places, why) in RULES.items():
                if name == header and not allowed(rel, places):
                    found.append(f"{rel}: includes <{name}> ({why})")
            if name == "nlohmann/json.hpp" and path.suffix == ".hpp" and rel not in JSON_HEADERS:
                found.append(f"{rel}: includes <nlohmann/json.hpp> in a header; use "
                             "<nlohmann/json_fwd.hpp>")
    return found


def self_test():
    planted = {
        "core/up.cpp": '#include "server/context.hpp"\n',
        "cli/inner.cpp": '#include "sql/internal/pg_tree.hpp"\n',
        "workflow/pq.cpp": "#include <libpq-fe.h>\n",
        "targetdb/toml.cpp": "#include <toml++/toml.hpp>\n",
        "ledger/heavy.hpp": "#include <nlohmann/json.hpp>\n",
        "server/config_ok.cpp": '#include "ledger/ledger.hpp"\n#include <toml++/toml.hpp>\n',
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        for rel, text in planted.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
        got = problems(root)
    expected = ["core/up.cpp", "cli/inner.cpp", "workflow/pq.cpp", "targetdb/toml.cpp",
                "ledger/heavy.hpp"]
    missing = [e for e in expected if not any(g.startswith(e + ":") for g in got)]
    extra = [g for g in got if g.startswith("server/config_ok.cpp")]
    if missing or extra or len(got) != len(expected):
        print("include_rules self-test failed: missing", missing, "unexpected", extra, got)
        return 1
    print(f"include_rules self-test: {len(got)} planted violations reported")
    return 0


def main():
    if "--self-test" in sys.argv:
        return self_test()
    src = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else
                       pathlib.Path(__file__).resolve().parents[2] / "src")
    found = problems(src)
    for p in found:
        print(p)
    if found:
        print(f"{len(found)} include rule(s) broken; see tests/layers/include_rules.py")
        return 1
    print(f"include rules hold for {sum(1 for _ in src.rglob('*.?pp'))} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
