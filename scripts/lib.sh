# Sourced by the get-*.sh scripts, which build a tool from its Go module once and cache it
# outside the clone: the releases of those tools are out of reach here, their modules are not.

cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/vault-plugin-secrets-forticloud

log() { echo "$(basename "$0" .sh): $*" >&2; }

# module_source MODULE@VERSION DIR puts a writable copy of the module's source in DIR. The module
# zip leaves out folders that hold modules of their own (Vault's ./api and ./sdk, say), so the
# replace lines pointing into such folders are dropped and the published modules used instead.
module_source() {
  local src
  src=$(cd "$(dirname "$2")" && GOFLAGS=-mod=mod go mod download -json "$1" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$src" ] || { log "cannot download $1"; return 1; }
  cp -r "$src" "$2"
  chmod -R u+w "$2"
  sed -i -E '/^replace[[:space:]].*=>[[:space:]]+\.\.?\//d; /^[[:space:]]+[^[:space:]]+([[:space:]]+v[^[:space:]]+)?[[:space:]]+=>[[:space:]]+\.\.?\//d' "$2/go.mod"
}

# cached OUT BUILDER [ARG...] prints OUT, first running `BUILDER ARG... OUT.tmp` in a scratch
# folder when OUT is not there yet. One build at a time, even when several runs ask at once:
# the lock is $CACHED_LOCK, else .lock beside OUT. Call it once a script: it sets the EXIT trap.
cached() {
  local out=$1
  shift
  if [ ! -e "$out" ]; then
    mkdir -p "$(dirname "$out")"
    local lock=${CACHED_LOCK:-$(dirname "$out")/.lock}
    mkdir -p "$(dirname "$lock")"
    exec 9>"$lock"
    flock 9
    if [ ! -e "$out" ]; then
      local work
      work=$(mktemp -d)
      # shellcheck disable=SC2064 # $work is fixed now, on purpose
      trap "chmod -R u+w '$work' 2>/dev/null; rm -rf '$work'" EXIT
      (cd "$work" && "$@" "$out.tmp")
      mv "$out.tmp" "$out"
      log "built $out"
    fi
    exec 9>&-
  fi
  echo "$out"
}
