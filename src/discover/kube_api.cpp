// Listing pods through the Kubernetes API with libcurl: the service account's bearer token (read
// at every call, since Kubernetes rotates projected tokens), the cluster CA, a deadline, and one
// message per failure that tells the operator which setting or permission to fix.
#include "discover/kube_api.hpp"

#include <curl/curl.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>

#include "core/error.hpp"

namespace datafix::discover {

namespace {

// A pod list of a few hundred pods is well below this; an answer beyond it is not one.
constexpr std::size_t kMaxBody = 16 * 1024 * 1024;
// How much of a non-JSON error body is quoted.
constexpr std::size_t kQuoted = 200;

using CurlHandle = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using HeaderList = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

CurlHandle new_handle() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    return CurlHandle(curl_easy_init(), &curl_easy_cleanup);
}

struct Body {
    std::string text;
    bool too_long = false;
};

std::size_t collect(char* data, std::size_t size, std::size_t count, void* user) {
    auto* body = static_cast<Body*>(user);
    const std::size_t n = size * count;
    if (body->text.size() + n > kMaxBody) {
        body->too_long = true;
        return 0;  // makes curl stop with CURLE_WRITE_ERROR
    }
    body->text.append(data, n);
    return n;
}

std::string in_env(const PodTarget& target) {
    return "environment " + target.environment + ": ";
}

// The service account file `name`, read now. A missing folder means datafix is not in a pod (or
// the token is not mounted), which only the configuration can fix.
std::string read_service_account_file(const PodTarget& target, const std::string& name) {
    const std::string path = target.service_account_dir + "/" + name;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        const int err = errno;
        throw Error(ErrorCode::config,
                    in_env(target) + "cannot read the service account's " + name + " at " + path +
                        ": " + std::strerror(err),
                    "run the datafix server in a pod whose service account token is mounted "
                    "(automountServiceAccountToken), set `service_account` to where it is, or use "
                    "mode = \"client\" for this environment");
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string bearer_token(const PodTarget& target) {
    std::string token = read_service_account_file(target, "token");
    while (!token.empty() &&
           (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
        token.pop_back();
    }
    if (token.empty() || token.find_first_of("\r\n") != std::string::npos) {
        throw Error(ErrorCode::config,
                    in_env(target) + "the service account token at " + target.service_account_dir +
                        "/token is " + (token.empty() ? "empty" : "not one line"),
                    "check the pod's projected service account token");
    }
    return token;
}

// The Status object's message, or the start of whatever else came back.
std::string status_message(const std::string& body) {
    const nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (doc.is_object() && doc.value("kind", "") == "Status" && doc.contains("message") &&
        doc["message"].is_string()) {
        return doc["message"].get<std::string>();
    }
    std::string start = body.substr(0, kQuoted);
    for (char& c : start) {
        if (static_cast<unsigned char>(c) < 0x20) {
            c = ' ';
        }
    }
    return start.empty() ? "no body" : start;
}

Error http_failure(const PodTarget& target, long status, const std::string& body,
                   const std::string& path) {
    const std::string ns = target.namespace_name;
    const std::string said = status_message(body);
    const std::string api = "the Kubernetes API at " + target.api_server;
    switch (status) {
        case 401:
            return Error(ErrorCode::unreachable,
                         in_env(target) + api +
                             " refused the service account token (401 Unauthorized: " + said + ")",
                         "the token in " + target.service_account_dir +
                             "/token is expired, revoked or from another cluster; datafix reads "
                             "it again at every step, so check the pod's service account and "
                             "its projected token");
        case 403:
            return Error(ErrorCode::unreachable,
                         in_env(target) + api +
                             " does not let the service account list pods in namespace " + ns +
                             " (403 Forbidden: " + said + ")",
                         "grant the verb \"list\" on \"pods\" in namespace " + ns +
                             " to the datafix server's service account: a Role with apiGroups "
                             "[\"\"], resources [\"pods\"], verbs [\"list\"] and a RoleBinding "
                             "in that namespace (kubectl auth can-i list pods -n " +
                             ns + " --as system:serviceaccount:<namespace>:<name>)");
        case 404:
            return Error(ErrorCode::unreachable,
                         in_env(target) + api + " answered 404 Not Found for GET " + path + " (" +
                             said + ")",
                         "check that KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT name the "
                         "cluster's API server and that namespace " +
                             ns + " exists");
        default:
            return Error(ErrorCode::unreachable,
                         in_env(target) + api + " answered HTTP " + std::to_string(status) +
                             " to GET " + path + " (" + said + ")",
                         "check the API server's health; the next step asks again");
    }
}

Error transport_failure(const PodTarget& target, CURLcode code, const char* detail) {
    const std::string why = *detail != '\0' ? detail : curl_easy_strerror(code);
    const std::string api = "the Kubernetes API at " + target.api_server;
    if (code == CURLE_OPERATION_TIMEDOUT) {
        return Error(ErrorCode::unreachable,
                     in_env(target) + api + " did not answer within " +
                         std::to_string(target.timeout.count()) + " ms",
                     "check the API server and the pod's network policy, then retry");
    }
    if (code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE) {
        return Error(ErrorCode::unreachable,
                     in_env(target) + api + " could not be verified with the CA " +
                         target.service_account_dir + "/ca.crt: " + why,
                     "the API server's certificate must be signed by the cluster CA in the "
                     "service account's ca.crt; datafix never skips this check");
    }
    return Error(ErrorCode::unreachable, in_env(target) + "cannot reach " + api + ": " + why,
                 "check KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT and the pod's network "
                 "policy, then retry");
}

}  // namespace

std::string pod_list_path(std::string_view namespace_name, std::string_view selector) {
    CurlHandle curl = new_handle();
    if (!curl) {
        throw Error(ErrorCode::internal, "curl_easy_init failed");
    }
    std::unique_ptr<char, decltype(&curl_free)> escaped(
        curl_easy_escape(curl.get(), selector.data(), static_cast<int>(selector.size())),
        &curl_free);
    if (!escaped) {
        throw Error(ErrorCode::internal, "cannot URL-encode the label selector");
    }
    return "/api/v1/namespaces/" + std::string(namespace_name) +
           "/pods?labelSelector=" + escaped.get();
}

std::vector<PodStatus> list_pods_in_cluster(const PodTarget& configured,
                                            std::string_view selector) {
    PodTarget target = configured;
    if (target.api_server.empty()) {
        target.api_server = api_server_from_environment(target.environment);
    }
    const std::string token = bearer_token(target);
    const std::string ca_file = target.service_account_dir + "/ca.crt";
    (void)read_service_account_file(target, "ca.crt");  // a clear message before curl's own

    const std::string path = pod_list_path(target.namespace_name, selector);
    const std::string url = target.api_server + path;
    CurlHandle curl = new_handle();
    if (!curl) {
        throw Error(ErrorCode::internal, "curl_easy_init failed");
    }
    const std::string authorization = "Authorization: Bearer " + token;
    curl_slist* raw = curl_slist_append(nullptr, authorization.c_str());
    raw = curl_slist_append(raw, "Accept: application/json");
    HeaderList headers(raw, &curl_slist_free_all);
    Body body;
    char detail[CURL_ERROR_SIZE] = {0};
    CURL* c = curl.get();
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_CAINFO, ca_file.c_str());
    // The API server is the cluster's own service: a proxy from the environment is never meant
    // for it, and must not see the token.
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(target.timeout.count()));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "datafix");
    const CURLcode code = curl_easy_perform(c);
    if (body.too_long) {
        throw Error(ErrorCode::unreachable,
                    in_env(target) + "the Kubernetes API's pod list is larger than " +
                        std::to_string(kMaxBody / (1024 * 1024)) + " MiB",
                    "narrow the selector; a namespace's leader pods are far fewer than that");
    }
    if (code != CURLE_OK) {
        throw transport_failure(target, code, detail);
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        throw http_failure(target, status, body.text, path);
    }
    try {
        return parse_pod_list(body.text);
    } catch (const Error& e) {
        throw Error(e.code(), in_env(target) + e.message(), e.hint());
    }
}

}  // namespace datafix::discover
