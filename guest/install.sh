#!/usr/bin/env bash
# Installs the Bonneville guest agent into a Linux template VM (run as root inside the VM).
# It copies the agent and its systemd unit and enables the unit; it changes nothing in vCenter.
#
#   sudo ./install.sh            install into this system and start the agent
#   DESTDIR=/mnt/img ./install.sh  install into a mounted image; the unit is enabled offline
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dest=${DESTDIR:-}

if [[ -z $dest && $(id -u) -ne 0 ]]; then
  echo "install.sh: run as root (or set DESTDIR to install into an image)" >&2
  exit 1
fi

missing=()
command -v vmware-rpctool >/dev/null 2>&1 || command -v vmtoolsd >/dev/null 2>&1 || missing+=("open-vm-tools")
command -v python3 >/dev/null 2>&1 || command -v jq >/dev/null 2>&1 || missing+=("python3 or jq")
command -v nerdctl >/dev/null 2>&1 || command -v podman >/dev/null 2>&1 || command -v docker >/dev/null 2>&1 ||
  missing+=("a container runtime (nerdctl, podman or docker)")
if [[ -z $dest && ${#missing[@]} -gt 0 ]]; then
  printf 'install.sh: warning: not found on this system: %s\n' "${missing[@]}" >&2
fi

install -d -m 755 "$dest/usr/local/bin" "$dest/etc/systemd/system" "$dest/usr/local/share/doc/bonneville-agent"
install -m 755 "$here/bonneville-agent" "$dest/usr/local/bin/bonneville-agent"
install -m 644 "$here/bonneville-agent.service" "$dest/etc/systemd/system/bonneville-agent.service"
install -m 644 "$here/README.md" "$dest/usr/local/share/doc/bonneville-agent/README.md"
install -d -m 700 "$dest/var/lib/bonneville"
# a template must not carry a handled generation: every clone has to act on its own
rm -f "$dest/var/lib/bonneville/generation" "$dest/var/lib/bonneville/container"

if command -v systemctl >/dev/null 2>&1; then
  if [[ -n $dest ]]; then
    systemctl --root="$dest" enable bonneville-agent.service
  else
    systemctl daemon-reload
    systemctl enable --now bonneville-agent.service
  fi
else
  echo "install.sh: systemctl not found; start /usr/local/bin/bonneville-agent --watch at boot yourself" >&2
fi
echo "install.sh: bonneville-agent installed${dest:+ into $dest}"
