// The web pages for product owners and pairs: static HTML, JavaScript and CSS from web/, compiled
// into the binary (web_assets.hpp). The pages hold no data of their own; they call the JSON API
// with the person's bearer token, so every rule the API enforces holds for them too.
//
// Every page answer carries a strict Content-Security-Policy (scripts and styles from this origin
// only, no inline script, no framing), nosniff and no-referrer. Assets are revalidated on every
// load (no-cache + ETag) because their URLs carry no version: a new binary serves new pages at
// once, and an unchanged page costs a 304.
#include <map>
#include <string>

#include "core/hash.hpp"
#include "server/routes.hpp"
#include "server/web_assets.hpp"

namespace datafix::server {

namespace {

constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

struct Page {
    std::string_view bytes;
    std::string content_type;
    std::string etag;
};

std::string content_type_of(std::string_view name) {
    auto ends_with = [&](std::string_view suffix) {
        return name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
    };
    if (ends_with(".html")) {
        return "text/html; charset=utf-8";
    }
    if (ends_with(".js")) {
        return "text/javascript; charset=utf-8";
    }
    if (ends_with(".css")) {
        return "text/css; charset=utf-8";
    }
    if (ends_with(".svg")) {
        return "image/svg+xml";
    }
    return "application/octet-stream";
}

// Built once: the assets never change while the binary runs.
const std::map<std::string, Page, std::less<>>& pages() {
    static const auto table = [] {
        std::map<std::string, Page, std::less<>> t;
        for (const auto& asset : web_assets()) {
            t.emplace(std::string(asset.name),
                      Page{asset.bytes, content_type_of(asset.name),
                           "\"" + sha256_hex(asset.bytes).substr(0, 32) + "\""});
        }
        return t;
    }();
    return table;
}

void send_page(const Request& req, Response& res, std::string_view name) {
    res.set_header("Content-Security-Policy", kContentSecurityPolicy);
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_header("X-Frame-Options", "DENY");
    auto it = pages().find(name);
    if (it == pages().end()) {
        res.status = 404;
        res.set_content("not found\n", "text/plain; charset=utf-8");
        return;
    }
    const Page& page = it->second;
    res.set_header("Cache-Control", "no-cache");
    res.set_header("ETag", page.etag);
    if (req.get_header_value("If-None-Match") == page.etag) {
        res.status = 304;
        return;
    }
    res.set_content(std::string(page.bytes), page.content_type);
}

}  // namespace

void add_web_routes(Router& http) {
    // The page script reads the path and shows the list or one request. Pages are compiled in,
    // so they are answered at once on the server's event thread.
    auto app = [](const Request& req, Response& res) { send_page(req, res, "index.html"); };
    http.Get("/", app, Dispatch::immediate);
    http.Get(R"(/requests/(\d+))", app, Dispatch::immediate);
    http.Get(R"(/assets/([A-Za-z0-9_-]+\.(html|js|css|svg)))",
             [](const Request& req, Response& res) { send_page(req, res, req.matches[1]); },
             Dispatch::immediate);
}

}  // namespace datafix::server
