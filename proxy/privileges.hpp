// Dropping root after the listeners are bound.
// Contract: drop_privileges() either leaves the process running as `user` (uid, gid and
// supplementary groups, irreversibly) or throws std::runtime_error saying why; it never leaves a
// half-dropped process. Call it before any worker thread starts.
#pragma once

#include <string>

namespace fqdngate {

void drop_privileges(const std::string& user);

// True when the process runs with uid 0.
bool running_as_root();

}  // namespace fqdngate
