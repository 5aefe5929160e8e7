// The web pages (web/) compiled into the binary: cmake/embed_web.cmake generates web_assets()
// from the files, so the server never reads a page from disk.
#pragma once

#include <string_view>
#include <vector>

namespace datafix::server {

struct WebAsset {
    std::string_view name;   // the file name in web/, e.g. "app.js"
    std::string_view bytes;  // its contents
};

const std::vector<WebAsset>& web_assets();

}  // namespace datafix::server
