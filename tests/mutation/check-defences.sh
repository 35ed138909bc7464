#!/usr/bin/env bash
# check-defences.sh [BUILD_TYPE]
#
# Mutation check of fqdngate's defences: for each tests/mutation/*.patch (one patch removes one
# defence), copy the source to a scratch directory, apply the patch, rebuild, run the test files
# the patch lists on its "Tests:" header line, and report KILLED (some listed test failed) or
# SURVIVED (all passed: no test notices that the defence is gone). The patch is reverted before
# the next one. Before any patch, the unmodified source is built and every listed test must pass,
# so that a KILLED verdict means the mutation, not a broken tree.
#
# BUILD_TYPE is passed to CMAKE_BUILD_TYPE (default Release).
#
# Environment:
#   FQDNGATE_MUTATION_SOURCE  "head" (default): the committed HEAD of the repository holding this
#                             script (git archive); "worktree": its working tree, tracked and
#                             untracked non-ignored files (to check uncommitted changes).
#   FQDNGATE_MUTATION_ONLY    space-separated patch names (without .patch) to run only those.
#   FQDNGATE_MUTATION_KEEP    1: keep the scratch directory (build, logs) and print its path.
#   FQDNGATE_MUTATION_REPORT  also write the result table (Markdown) to this file.
#   TMPDIR                    where the scratch directory is made.
#
# Exit status: 0 if every mutation was killed; 1 if any survived, no longer applies or does not
# build; 2 on a usage or set-up error (including a failing test on the unmodified source).
#
# "Tests:" entries: integration/test_x.py (run with python3 -m unittest -v from
# tests/integration, as ctest does) or unit/x_test (a Catch2 executable from tests/unit).
set -euo pipefail

build_type=${1:-Release}
if [[ $# -gt 1 || $build_type == -h || $build_type == --help ]]; then
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
  [[ $build_type == -h || $build_type == --help ]] && exit 0
  exit 2
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(git -C "$here" rev-parse --show-toplevel)
mode=${FQDNGATE_MUTATION_SOURCE:-head}
only=${FQDNGATE_MUTATION_ONLY:-}
keep=${FQDNGATE_MUTATION_KEEP:-0}
report=${FQDNGATE_MUTATION_REPORT:-}
per_file_timeout=600

work=$(mktemp -d "${TMPDIR:-/tmp}/fqdngate-mutation.XXXXXX")
src=$work/src
build=$work/build
logs=$work/logs
mkdir -p "$src" "$logs"
cleanup() {
  if [[ $keep == 1 ]]; then
    echo "scratch directory kept: $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

say() { printf '%s\n' "$*" >&2; }
die() {
  say "check-defences: $*"
  exit 2
}

# 1. The source copy, made a git repository of its own so patches apply and revert exactly.
case $mode in
  head) git -C "$repo" archive --format=tar HEAD | tar -x -C "$src" ;;
  worktree)
    (cd "$repo" && git ls-files -z --cached --others --exclude-standard |
      tar --null --ignore-failed-read -T - -cf -) | tar -x -C "$src"
    ;;
  *) die "FQDNGATE_MUTATION_SOURCE must be head or worktree, not '$mode'" ;;
esac
git -C "$src" init -q
git -C "$src" add -A
git -C "$src" -c user.name=check-defences -c user.email=check-defences@localhost \
  commit -q -m "source under test"

patch_dir=$src/tests/mutation
mapfile -t patches < <(find "$patch_dir" -maxdepth 1 -name '*.patch' -printf '%f\n' | sort)
[[ ${#patches[@]} -gt 0 ]] || die "no patches in tests/mutation"
if [[ -n $only ]]; then
  selected=()
  for name in $only; do
    [[ -f $patch_dir/$name.patch ]] || die "no patch named $name"
    selected+=("$name.patch")
  done
  patches=("${selected[@]}")
fi

tests_of() { sed -n 's/^Tests:[[:space:]]*//p' "$patch_dir/$1" | head -n 1; }
defence_of() { sed -n 's/^Defence:[[:space:]]*//p' "$patch_dir/$1" | head -n 1; }

unit_targets() {
  local t
  for t in "$@"; do
    [[ $t == unit/* ]] && printf '%s\n' "${t#unit/}"
  done
  return 0
}

# Debian's python3 has the packages the integration tests import (python3-httpx, ...); another
# python3 earlier on PATH may not.
python=${FQDNGATE_PYTHON:-/usr/bin/python3}
[[ -x $python ]] || python=python3

# 2. Build once, unmodified.
generator=()
command -v ninja > /dev/null && generator=(-G Ninja)
say "check-defences: $build_type build of $mode source in $work"
cmake -S "$src" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE="$build_type" \
  -DFQDNGATE_WERROR=OFF -DFQDNGATE_SANITIZE=OFF > "$logs/configure.log" 2>&1 ||
  die "configure failed; see $logs/configure.log (set FQDNGATE_MUTATION_KEEP=1 to keep it)"
cmake --build "$build" > "$logs/build-baseline.log" 2>&1 ||
  die "the unmodified source does not build; see $logs/build-baseline.log"

# Runs one test entry; returns non-zero if it failed. Failing test ids go to $3.
run_entry() {
  local entry=$1 log=$2 failed=$3 rc=0
  case $entry in
    integration/*.py)
      local module
      module=$(basename "$entry" .py)
      (cd "$src/tests/integration" &&
        FQDNGATE_BIN="$build/fqdngate" \
          FQDNGATE_CERTS_SCRIPT="$src/certs/make-test-pki.sh" \
          FQDNGATE_TEST_TMP="$build/tests/integration-tmp" \
          timeout "$per_file_timeout" "$python" -m unittest -v "$module") > "$log" 2>&1 || rc=$?
      if [[ $rc -ne 0 ]]; then
        # "FAIL: test_x (module.Class.test_x) (sub=...)" -> Class.test_x
        sed -n 's/^\(FAIL\|ERROR\): [^ ]* (\([^)]*\)).*/\2/p' "$log" |
          sed "s/^$module\.//" | sort -u | sed "s/^/$module./" >> "$failed"
        [[ $rc -eq 124 ]] && echo "$module (timed out)" >> "$failed"
        grep -q . "$failed" || echo "$module (exit $rc)" >> "$failed"
      fi
      ;;
    unit/*)
      "$build/tests/${entry#unit/}" > "$log" 2>&1 || rc=$?
      [[ $rc -ne 0 ]] && echo "${entry#unit/}" >> "$failed"
      ;;
    *) die "unknown test entry '$entry' (want integration/test_x.py or unit/x_test)" ;;
  esac
  return $rc
}

# 3. Baseline: every test any selected patch lists must pass without a mutation.
declare -A all_entries=()
for p in "${patches[@]}"; do
  read -r -a entries <<< "$(tests_of "$p")"
  [[ ${#entries[@]} -gt 0 ]] || die "$p has no 'Tests:' line"
  for e in "${entries[@]}"; do all_entries[$e]=1; done
done
mkdir -p "$logs/baseline"
baseline_failed=$logs/baseline/failed
: > "$baseline_failed"
for e in "${!all_entries[@]}"; do
  run_entry "$e" "$logs/baseline/$(basename "$e").log" "$baseline_failed" || true
done
if [[ -s $baseline_failed ]]; then
  say "check-defences: tests fail on the unmodified source, so no verdict would mean anything:"
  sed 's/^/  /' "$baseline_failed" >&2
  exit 2
fi
say "check-defences: baseline passes (${#all_entries[@]} test entries)"

# 4. One mutation at a time.
table="| Mutation (defence removed) | Result | Killed by |"$'\n'"|---|---|---|"
bad=0
killed=0
for p in "${patches[@]}"; do
  name=${p%.patch}
  read -r -a entries <<< "$(tests_of "$p")"
  mkdir -p "$logs/$name"
  failed=$logs/$name/failed
  : > "$failed"
  started=$SECONDS
  if ! git -C "$src" apply --check "$patch_dir/$p" 2> "$logs/$name/apply.log"; then
    result=NO-APPLY
    by="patch does not apply: refresh it (see README)"
  else
    git -C "$src" apply "$patch_dir/$p"
    mapfile -t targets < <(unit_targets "${entries[@]}")
    if ! cmake --build "$build" --target fqdngate "${targets[@]}" > "$logs/$name/build.log" 2>&1; then
      result=BUILD-FAILED
      by="see $logs/$name/build.log"
    else
      for e in "${entries[@]}"; do
        run_entry "$e" "$logs/$name/$(basename "$e").log" "$failed" || true
      done
      if [[ -s $failed ]]; then
        result=KILLED
        by=$(paste -sd ' ' "$failed" | sed 's/ /, /g')
      else
        result=SURVIVED
        by="(none of: ${entries[*]})"
      fi
    fi
    git -C "$src" checkout -q -- .
    git -C "$src" diff --quiet || die "could not revert $p"
  fi
  [[ $result == KILLED ]] && killed=$((killed + 1)) || bad=$((bad + 1))
  say "$(printf '%-40s %-12s %4ss  %s' "$name" "$result" "$((SECONDS - started))" "$by")"
  table+=$'\n'"| \`$name\`: $(defence_of "$p") | $result | $by |"
done

# The scratch build must not keep the last mutation's objects if it is kept for inspection.
[[ $keep == 1 ]] && cmake --build "$build" --target fqdngate > /dev/null 2>&1 || true

printf '%s\n' "$table"
[[ -n $report ]] && printf '%s\n' "$table" > "$report"
say "check-defences: ${#patches[@]} mutations, $killed killed, $bad not killed"
[[ $bad -eq 0 ]]
