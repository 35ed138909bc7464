// The two parsers that read secrets: Proxy-Authorization header values and credentials files.
// Neither may crash, and whatever they accept must satisfy the user-name rules.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "policy/credentials.hpp"
#include "proxy/proxy_authorization.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string why;
  std::string hint;
  if (const auto c = fqdngate::parse_proxy_authorization(text, &why, &hint)) {
    if (fqdngate::policy::invalid_user_name(c->user) || hint != c->user) __builtin_trap();
  } else if (why.empty()) {
    __builtin_trap();  // every refusal says why
  }
  try {
    const auto creds = fqdngate::policy::Credentials::parse(text);
    (void)creds.size();
  } catch (const fqdngate::policy::CredentialsError& e) {
    if (e.line() < 1) __builtin_trap();
  }
  return 0;
}
