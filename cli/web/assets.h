// The dashboard's HTML, CSS and JavaScript (cli/web/assets/*), embedded into
// the binary at build time by cli/web/embed_assets.cmake, so `shoebox web`
// serves them itself and works on a LAN without internet.
#pragma once

#include <string_view>
#include <vector>

namespace shoebox::cli::web {

struct Asset {
  std::string_view name;          // "app.js" (served at /assets/app.js)
  std::string_view content_type;  // from the extension
  std::string_view body;
};

// Every embedded file, by name.
const std::vector<Asset>& Assets();
// The asset called `name`, or nullptr.
const Asset* FindAsset(std::string_view name);

}  // namespace shoebox::cli::web
