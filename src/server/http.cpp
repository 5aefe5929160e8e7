// Requests, responses and the router of http.hpp: plain data and a regex match per route.
#include "server/http.hpp"

#include <algorithm>
#include <cctype>

namespace datafix::server {

bool CaseInsensitiveLess::operator()(std::string_view a, std::string_view b) const {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) <
               std::tolower(static_cast<unsigned char>(y));
    });
}

std::string Request::get_header_value(std::string_view name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
}

bool Request::has_param(std::string_view name) const {
    return params.find(name) != params.end();
}

std::string Request::get_param_value(std::string_view name) const {
    auto it = params.find(name);
    return it == params.end() ? std::string() : it->second;
}

void Response::set_header(std::string name, std::string value) {
    headers.emplace(std::move(name), std::move(value));
}

void Response::set_content(std::string content, std::string content_type) {
    body = std::move(content);
    headers.erase("Content-Type");
    set_header("Content-Type", std::move(content_type));
}

void Response::set_stream(std::string content_type, std::shared_ptr<BodyStream> body_stream,
                          std::chrono::milliseconds idle) {
    body.clear();
    stream = std::move(body_stream);
    stream_idle = idle;
    headers.erase("Content-Type");
    set_header("Content-Type", std::move(content_type));
}

void Router::Get(const std::string& pattern, Handler handler, Dispatch dispatch) {
    routes_.push_back({"GET", std::regex(pattern), std::move(handler), dispatch});
}

void Router::Post(const std::string& pattern, Handler handler, Dispatch dispatch) {
    routes_.push_back({"POST", std::regex(pattern), std::move(handler), dispatch});
}

const Router::Route* Router::find(std::string_view method, const std::string& path,
                                  std::vector<std::string>& matches) const {
    std::string_view wanted = method == "HEAD" ? std::string_view("GET") : method;
    for (const auto& route : routes_) {
        std::smatch m;
        if (route.method != wanted || !std::regex_match(path, m, route.pattern)) {
            continue;
        }
        matches.assign(m.begin(), m.end());
        return &route;
    }
    return nullptr;
}

}  // namespace datafix::server
