// The policy loader on arbitrary text: it must return a policy or throw PolicyError, nothing
// else (a yaml-cpp exception escaping would be a loader bug), and a loaded policy must decide.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "policy/loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto policy = fqdngate::policy::load_policy_text(text, "fuzz.yaml");
    (void)policy->decide({"api.prefect.cloud", 443, {}});
    (void)policy->decide({"127.0.0.1", 443, {}});
  } catch (const fqdngate::policy::PolicyError&) {
  }
  return 0;
}
