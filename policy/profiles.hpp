// Built-in Prefect profiles and named workflow presets, as data.
// Contract: every entry cites the public documentation it was written from (docs field), so a
// security reviewer can check why a name is on the list.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace fqdngate::policy {

struct EndpointEntry {
  std::string_view pattern;          // normalized name or "*.suffix"
  std::vector<std::uint16_t> ports;  // empty = {443}
};

struct Preset {
  std::string_view name;         // as written under `presets:`
  std::string_view description;  // one line
  std::string_view docs;         // where the list comes from
  std::vector<EndpointEntry> entries;
};

// Prefect profiles (the keys under `prefect:`).
const std::vector<EndpointEntry>&
prefect_cloud_endpoints();  // api/app.prefect.cloud, auth.workos.com
const std::vector<EndpointEntry>&
prefect_telemetry_endpoints();  // api2.amplitude.com, sens-o-matic.prefect.io
const std::vector<EndpointEntry>& prefect_github_login_endpoints();  // api.github.com, github.com

// All presets, sorted by name; find_preset returns nullptr for an unknown name.
const std::vector<Preset>& presets();
const Preset* find_preset(std::string_view name);

}  // namespace fqdngate::policy
