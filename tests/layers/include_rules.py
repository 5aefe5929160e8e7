#!/usr/bin/env python3
"""The include rules of src/, checked on the source text (ctest `include_rules`).

Each layer declares what it uses in the top-level CMakeLists.txt (`datafix_layer`): the project
layers to its left it includes, and the third-party libraries it includes (`datafix_library`
names each one's headers). CMake writes that graph to <build>/layer_graph.tsv, and this reads it
together with every #include of src/. The static libraries enforce the graph only for symbols
that reach the linker, and most third-party headers sit in /usr/include, where any file finds
them; so this refuses:
  - a project include of a layer the including layer does not declare (or of one to its right;
    src/main.cpp may include any layer and no library);
  - sql/internal/ (libpg_query's types) outside src/sql/;
  - a third-party header of a library the layer does not declare, or of no declared library at
    all (the C, POSIX and C++ standard headers excepted);
  - a library in a header that other layers include, unless the layer declares it PUBLIC;
  - a declared layer or library that no file of the layer includes (a declaration says what the
    layer really uses), and a PUBLIC library that no header other layers include names;
  - a precompiled header naming a library its layer does not declare;
  - within a layer, a third-party header outside the files that may include it (RULES below), and
    the whole of nlohmann/json in a header.
`--self-test` plants violations of each kind in a temporary tree and graph and expects each
reported, and nothing else.
"""
import pathlib
import re
import sys
import tempfile

# header (or folder ending in /) -> (files or folders that may include it, why). Which layers may
# use a library at all is the declared graph's business; these narrow it to files.
RULES = {
    "libpq-fe.h": ({"targetdb/connection.cpp", "ledger/postgresql_session.cpp",
                    "discover/conninfo.cpp", "backup/pg_dump_backup.cpp"},
                   "libpq: the target's connection, the ledger's PostgreSQL session, and libpq's "
                   "own conninfo parser for discovery and backup"),
    "pg_query/": ({"sql/internal/"}, "libpg_query's tree types"),
    "toml++/": ({"server/config", "discover/pod_target.cpp"},
                "TOML is read by the configuration reader only"),
    "microhttpd.h": ({"server/http_server.cpp"}, "the HTTP server behind http.hpp"),
}
# The whole nlohmann/json in a header costs every includer; these headers need it by value.
JSON_HEADERS = {"sql/internal/json_tree.hpp", "sql/internal/table_writes.hpp",
                "server/change_summary.hpp", "server/api_error.hpp",
                "server/id_token.hpp", "cli/preflight_view.hpp", "cli/output.hpp",
                "cli/client.hpp", "cli/verb_support.hpp", "cli/request_view.hpp"}

# Headers of the C library, POSIX and Linux: no library to declare.
SYSTEM_HEADERS = {"arpa/", "linux/", "net/", "netinet/", "sys/", "assert.h", "ctype.h", "dirent.h",
                  "dlfcn.h", "errno.h", "fcntl.h", "fnmatch.h", "glob.h", "grp.h", "ifaddrs.h",
                  "inttypes.h", "limits.h", "netdb.h", "poll.h", "pwd.h", "sched.h", "signal.h",
                  "spawn.h", "stdint.h", "stdio.h", "stdlib.h", "string.h", "strings.h",
                  "syslog.h", "termios.h", "time.h", "unistd.h"}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


class Graph:
    """The declared graph as CMake wrote it (see the top-level CMakeLists.txt)."""

    def __init__(self, text):
        self.libraries = {}  # name -> headers and folders
        self.layers = []  # lowest first
        self.uses, self.public, self.private, self.pch = {}, {}, {}, {}
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            kind, name, *fields = line.split("\t")
            lists = [f.split() for f in fields]
            if kind == "library" and len(lists) == 1:
                self.libraries[name] = lists[0]
            elif kind == "layer" and len(lists) == 3:
                self.layers.append(name)
                self.uses[name], self.public[name], self.private[name] = map(set, lists)
            elif kind == "pch" and len(lists) == 1:
                self.pch[name] = [h.strip("<>") for h in lists[0]]
            else:
                raise SystemExit(f"layer graph line {number}: cannot read {line!r}")

    def library_of(self, header):
        """The library a header belongs to, "" for a standard one, None for an unknown one."""
        for name, headers in self.libraries.items():
            if matches(header, headers):
                return name
        if matches(header, SYSTEM_HEADERS) or ("." not in header and "/" not in header):
            return ""
        return None

    def problems(self):
        found = []
        for layer in self.layers:
            below = self.layers[:self.layers.index(layer)]
            for used in sorted(self.uses[layer] - set(below)):
                found.append(f"{layer}: declares {used}, which is not a layer to its left")
            for lib in sorted((self.public[layer] | self.private[layer]) - set(self.libraries)):
                found.append(f"{layer}: declares {lib}, which is no datafix_library")
        return found


def matches(header, places):
    return any(header == p or (p.endswith("/") and header.startswith(p)) for p in places)


def allowed(rel, places):
    return any(rel == p or (p.endswith("/") and rel.startswith(p)) or
               (not p.endswith("/") and not p.endswith((".cpp", ".hpp")) and rel.startswith(p))
               for p in places)


def read_sources(src):
    """rel path -> list of (kind, name) of its includes."""
    files = {}
    for path in sorted(src.rglob("*")):
        if path.suffix in (".cpp", ".hpp", ".inc") and path.is_file():
            files[path.relative_to(src).as_posix()] = INCLUDE.findall(
                path.read_text(errors="replace"))
    return files


def layer_of(rel, graph):
    first = rel.split("/", 1)[0]
    return first if "/" in rel and first in graph.layers else None


def project_layer(name, graph):
    first = name.split("/", 1)[0]
    return first if "/" in name and first in graph.layers else None


def exported_headers(files, graph):
    """The headers of each layer that files of other layers include, and what those include of
    their own layer: their third-party includes reach other layers' compiles."""
    exported = set()
    for rel, includes in files.items():
        for _, name in includes:
            if project_layer(name, graph) and project_layer(name, graph) != layer_of(rel, graph):
                exported.add(name)
    pending = list(exported)
    while pending:
        header = pending.pop()
        for _, name in files.get(header, []):
            if project_layer(name, graph) == layer_of(header, graph) and name not in exported:
                exported.add(name)
                pending.append(name)
    return exported


def problems(src, graph):
    found = graph.problems()
    files = read_sources(src)
    exported = exported_headers(files, graph)
    used_layers = {layer: set() for layer in graph.layers}
    used_libraries = {layer: set() for layer in graph.layers}
    exported_libraries = {layer: set() for layer in graph.layers}
    for rel, includes in files.items():
        layer = layer_of(rel, graph)
        declared = graph.public[layer] | graph.private[layer] if layer else set()
        for kind, name in includes:
            target = project_layer(name, graph)
            if target:
                if name.startswith("sql/internal/") and layer != "sql":
                    found.append(f"{rel}: includes {name}, which is internal to sql/")
                if layer is None or target == layer:
                    continue
                used_layers[layer].add(target)
                if graph.layers.index(target) > graph.layers.index(layer):
                    found.append(f"{rel}: includes {name}, a layer to its right")
                elif target not in graph.uses[layer]:
                    found.append(f"{rel}: includes {name} of {target}, which {layer} does not "
                                 f"declare (datafix_layer USES in CMakeLists.txt)")
                continue
            if kind == '"' and (src / rel).parent.joinpath(name).is_file():
                continue  # a file next to it
            lib = graph.library_of(name)
            if lib is None:
                found.append(f"{rel}: includes <{name}>, which belongs to no library declared in "
                             "CMakeLists.txt (datafix_library)")
            elif lib and layer is None:
                found.append(f"{rel}: includes <{name}> of {lib}; outside the layers only "
                             "standard headers")
            elif lib:
                used_libraries[layer].add(lib)
                if lib not in declared:
                    found.append(f"{rel}: includes <{name}> of {lib}, which {layer} does not "
                                 "declare (datafix_layer in CMakeLists.txt)")
                elif rel in exported:
                    exported_libraries[layer].add(lib)
                    if lib not in graph.public[layer]:
                        found.append(f"{rel}: includes <{name}> of {lib} in a header other layers "
                                     f"include, so {layer} must declare {lib} PUBLIC_LIBRARIES")
            for header, (places, why) in RULES.items():
                if matches(name, [header]) and not allowed(rel, places):
                    found.append(f"{rel}: includes <{name}> ({why})")
            if name == "nlohmann/json.hpp" and rel.endswith(".hpp") and rel not in JSON_HEADERS:
                found.append(f"{rel}: includes <nlohmann/json.hpp> in a header; use "
                             "<nlohmann/json_fwd.hpp>")
    for layer in graph.layers:
        for used in sorted(graph.uses[layer] - used_layers[layer]):
            found.append(f"{layer}: declares {used}, but none of its files includes it")
        declared = graph.public[layer] | graph.private[layer]
        for lib in sorted(declared - used_libraries[layer]):
            found.append(f"{layer}: declares {lib}, but none of its files includes it")
        for lib in sorted(graph.public[layer] & used_libraries[layer] - exported_libraries[layer]):
            found.append(f"{layer}: declares {lib} PUBLIC, but no header other layers include "
                         "names it (LIBRARIES)")
        for header in graph.pch.get(layer, []):
            lib = graph.library_of(header)
            if lib is None or (lib and lib not in declared):
                found.append(f"{layer}: its precompiled header includes <{header}>, a library "
                             f"{layer} does not declare")
    return found


SELF_TEST_GRAPH = """\
library\tlibpq\tlibpq-fe.h libpq/
library\ttoml\ttoml++/
library\tjson\tnlohmann/
library\tspdlog\tspdlog/
library\tthreads\tthread mutex
layer\tcore\t\t\tthreads
layer\tmodel\tserver\t\t
layer\tsql\tcore\t\t
layer\tledger\tcore\tspdlog\tlibpq json
layer\tserver\tcore sql ledger\t\ttoml json
layer\tcli\tcore sql server\t\tjson
pch\tcli\t<vector> <nlohmann/json.hpp> <spdlog/logger.h>
"""
SELF_TEST_FILES = {
    # clean
    "core/a.hpp": "#include <string>\n",
    "sql/a.hpp": '#include "core/a.hpp"\n#include <sys/stat.h>\n',
    "ledger/postgresql_session.cpp": '#include <libpq-fe.h>\n#include <nlohmann/json.hpp>\n'
                                     '#include "core/a.hpp"\n#include "ledger/api.hpp"\n',
    "ledger/api.hpp": "#include <spdlog/logger.h>\n",
    "server/config_ok.cpp": '#include "ledger/api.hpp"\n#include <toml++/toml.h>\n'
                            '#include "sql/a.hpp"\n#include "core/a.hpp"\n'
                            '#include <nlohmann/json.hpp>\n',
    "cli/x.cpp": '#include "server/exported.hpp"\n#include "core/a.hpp"\n#include "sql/a.hpp"\n'
                 "#include <nlohmann/json.hpp>\n#include <vector>\n",
    "main.cpp": '#include "cli/x.hpp"\n#include <unistd.h>\n',
    # planted
    "core/up.cpp": '#include "server/context.hpp"\n',
    "cli/inner.cpp": '#include "sql/internal/pg_tree.hpp"\n',
    "server/pq.cpp": "#include <libpq-fe.h>\n",
    "cli/skip.cpp": '#include "ledger/api.hpp"\n',
    "sql/mystery.cpp": "#include <yaml-cpp/yaml.h>\n",
    "ledger/heavy.hpp": "#include <nlohmann/json.hpp>\n",
    "server/exported.hpp": "#include <nlohmann/json_fwd.hpp>\n",
    "sql/toml.cpp": "#include <toml++/toml.h>\n",
    "main2.cpp": "#include <toml++/toml.h>\n",
}
SELF_TEST_EXPECTED = [
    ("model:", "server, which is not a layer to its left"),
    ("model:", "declares server, but none of its files includes it"),
    ("core:", "declares threads, but none of its files includes it"),
    ("cli:", "precompiled header includes <spdlog/logger.h>"),
    ("core/up.cpp:", "a layer to its right"),
    ("cli/inner.cpp:", "internal to sql/"),
    ("server/pq.cpp:", "libpq, which server does not declare"),
    ("server/pq.cpp:", "(libpq: the target's connection"),
    ("cli/skip.cpp:", "ledger, which cli does not declare"),
    ("sql/mystery.cpp:", "belongs to no library"),
    ("ledger/heavy.hpp:", "use <nlohmann/json_fwd.hpp>"),
    ("server/exported.hpp:", "server must declare json PUBLIC_LIBRARIES"),
    ("sql/toml.cpp:", "toml, which sql does not declare"),
    ("sql/toml.cpp:", "(TOML is read by the configuration reader only)"),
    ("main2.cpp:", "outside the layers only standard headers"),
    ("main2.cpp:", "(TOML is read by the configuration reader only)"),
]


def self_test():
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        for rel, text in SELF_TEST_FILES.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
        got = problems(root, Graph(SELF_TEST_GRAPH))
    missing = [e for e in SELF_TEST_EXPECTED
               if not any(g.startswith(e[0]) and e[1] in g for g in got)]
    if missing or len(got) != len(SELF_TEST_EXPECTED):
        print("include_rules self-test failed: missing", missing, "reported:")
        print("\n".join(got))
        return 1
    print(f"include_rules self-test: {len(got)} planted violations reported")
    return 0


def main():
    if "--self-test" in sys.argv:
        return self_test()
    if len(sys.argv) != 3:
        print("usage: include_rules.py BUILD/layer_graph.tsv SRC | --self-test")
        return 2
    graph = Graph(pathlib.Path(sys.argv[1]).read_text())
    src = pathlib.Path(sys.argv[2])
    found = problems(src, graph)
    for p in found:
        print(p)
    if found:
        print(f"{len(found)} include rule(s) broken; see tests/layers/include_rules.py and "
              "datafix_layer in CMakeLists.txt")
        return 1
    print(f"include rules hold for {sum(1 for _ in src.rglob('*.?pp'))} files and "
          f"{len(graph.layers)} layers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
