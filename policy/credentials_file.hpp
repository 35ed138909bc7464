// Reads the auth.credentials file named by a policy.
// Contract: throws PolicyError pointing at the bad line of the credentials file, with the policy
// location that named it in the message; or, when the file cannot be read, at that location.
#pragma once

#include <string>

#include "policy/credentials.hpp"
#include "policy/policy.hpp"

namespace fqdngate::policy {

Credentials read_credentials_file(const std::string& path, const SourceRef& named_at);

}  // namespace fqdngate::policy
