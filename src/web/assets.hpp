#pragma once
// The dashboard's files, embedded at build time from web/ (see cmake/embed_assets.cmake).
#include <string_view>
#include <vector>

namespace isla::web {

struct Asset {
  std::string_view path;  // e.g. "/app.js"
  std::string_view content_type;
  std::string_view body;
};

const std::vector<Asset>& assets();

}  // namespace isla::web
