#!/usr/bin/env bash
# The setup scenario of bench/ab.sh, under the name and arguments earlier results quote:
#
#   bench/setup-ab.sh BUILD_DIR FQDNGATE_A FQDNGATE_B [ROUNDS] [SECONDS] [CLIENTS]
set -euo pipefail
[[ $# -ge 3 ]] || { sed -n '4p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
exec "$(dirname "$0")/ab.sh" "$1" "$2" "$3" "${4:-5}" "${5:-3}" "setup:${6:-64}"
