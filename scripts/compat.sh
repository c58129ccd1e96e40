#!/usr/bin/env bash
# Usage: compat.sh VERSION...  (make compat: the oldest supported Vault and the pinned newest)
# Runs the end-to-end suite (make integration's go test) against each Vault VERSION, each built
# once from its Go module and cached (get-vault.sh), and prints a table: version, tests passed,
# skipped and failed, and what the tests logged as unavailable on that version. The whole log of
# each run is kept in $COMPAT_LOG_DIR (default: a folder in the cache). Fails if any run failed.
# TESTFLAGS passes on to go test, as for make integration.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
[ $# -gt 0 ] || { log "usage: compat.sh VERSION..."; exit 2; }
logs=${COMPAT_LOG_DIR:-$cache_root/compat}
mkdir -p "$logs"

# summarise VERSION LOG RC SECONDS prints a row of the table, then a line per failed test, per
# skipped test (with the reason it gave) and per feature a test logged as unavailable there.
summarise() {
  local pass skip fail result=PASS
  pass=$(grep -c '^--- PASS' "$2" || true)
  skip=$(grep -c '^--- SKIP' "$2" || true)
  fail=$(grep -c '^--- FAIL' "$2" || true)
  [ "$3" -eq 0 ] || result=FAIL
  printf '%-8s %-6s %7d %7d %6d %5ss\n' "$1" "$result" "$pass" "$skip" "$fail" "$4"
  sed -n 's/^--- FAIL: \([^ ]*\).*/  failed: \1/p' "$2"
  if [ "$3" -ne 0 ] && [ "$fail" -eq 0 ]; then
    tail -n 5 "$2" | sed 's/^/  | /'
  fi
  # go test -v interleaves parallel tests' lines under "=== NAME <test>" headers: a skipped
  # test's last line before its "--- SKIP" is the reason it gave.
  awk '/^=== (RUN|CONT|NAME|PAUSE) / { cur = $3; next }
       /^--- SKIP: / { print "  skipped: " $3 ": " why[$3]; next }
       /^    [^ -]/ && cur != "" { line = $0; sub(/^ +[^ :]+:[0-9]+: /, "", line); why[cur] = line }' "$2"
  grep -o 'unavailable on Vault .*' "$2" | sort -u | sed 's/^/  /' || true
}

# Every build first: a version that does not build stops the run before any suite starts.
bins=()
for v in "$@"; do
  start=$SECONDS
  bins+=("$("$here/get-vault.sh" "$v")")
  log "Vault $v: ${bins[${#bins[@]} - 1]} ($((SECONDS - start))s)"
done
tfrc=$(if command -v terraform >/dev/null; then "$here/get-terraform-provider-vault.sh"; fi)

cd "$here/.."
failed=0
summary=()
i=0
for v in "$@"; do
  bin=${bins[i]}
  i=$((i + 1))
  out="$logs/vault-$v.log"
  start=$SECONDS
  log "Vault $v: go test ./integration/... (log: $out)"
  rc=0
  # shellcheck disable=SC2086 # TESTFLAGS is a list of flags
  VAULT_BIN="$bin" TF_CLI_CONFIG_FILE="$tfrc" \
    go test -count=1 -timeout 20m -v ${TESTFLAGS:-} ./integration/... >"$out" 2>&1 || rc=$?
  [ "$rc" -eq 0 ] || failed=1
  summary+=("$(summarise "$v" "$out" "$rc" $((SECONDS - start)))")
done

echo
echo "Vault    result  passed skipped failed  time  (logs: $logs)"
for s in "${summary[@]}"; do echo "$s"; done
exit "$failed"
