# shellcheck shell=bash
# Shared by sim/run, sim/test and bench/peer/build: the Debian packages the Go
# parts need, and GOPATH-mode builds against Debian's govmomi (no module
# downloads). Source it; set say_prefix first to label messages.

govmomi=/usr/share/gocode/src/github.com/vmware/govmomi
go_packages=(golang-go golang-github-vmware-govmomi-dev)
sim_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

say() { echo "${say_prefix:-sim}: $*" >&2; }

# install_packages installs golang-go and Debian's govmomi when missing.
install_packages() {
  if command -v go >/dev/null 2>&1 && [[ -d "$govmomi/simulator" ]]; then
    return 0
  fi
  local runner=()
  if [[ "$(id -u)" != 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      runner=(sudo -n)
    else
      say "this needs the Debian packages: ${go_packages[*]}"
      say "install them with: sudo apt-get update && sudo apt-get install -y ${go_packages[*]}"
      exit 1
    fi
  fi
  say "installing ${go_packages[*]} (one time)"
  "${runner[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  "${runner[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${go_packages[@]}" >&2
}

# gopath_go runs the go tool in GOPATH mode against /usr/share/gocode.
gopath_go() {
  GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= go "$@"
}

# write_sim_overlay FILE writes the `go build -overlay` file that adds
# sim/overlay/*.go to govmomi's simulator package (InstantClone_Task, guest
# agent, fault injection).
write_sim_overlay() {
  local out="$1" first=1 f
  {
    echo '{"Replace": {'
    for f in "$sim_dir"/overlay/*.go; do
      [[ $first == 1 ]] || echo ','
      first=0
      printf '"%s": "%s"' "$govmomi/simulator/$(basename "$f")" "$f"
    done
    echo '}}'
  } > "$out"
}

# sources_stamp FILE... hashes the go version and the given files.
sources_stamp() {
  (go version; cat "$@") | sha256sum | cut -d' ' -f1
}
