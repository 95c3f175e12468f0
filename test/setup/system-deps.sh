#!/usr/bin/env bash
# Ensures the Debian packages the test suites need are present. Idempotent: checks each tool
# first and only touches apt when something is missing. Run by `npm test` before anything else,
# so a fresh Debian machine needs no manual set-up; never silently skips (suites would lie).
#
# Note: Debian's mosquitto package may start a system broker on port 1883. The tests never use
# it: test/support/mosquitto.ts starts a private broker on an ephemeral loopback port.
set -euo pipefail

# package → how to tell it is installed. Binaries are checked by path/command (works even when
# the tool came from elsewhere); libraries only have dpkg to ask.
is_present() {
  case "$1" in
    mosquitto) [[ -x /usr/sbin/mosquitto ]] ;;
    qemu-user-static) command -v qemu-aarch64-static >/dev/null && command -v qemu-arm-static >/dev/null ;;
    libwbxml2-utils) command -v wbxml2xml >/dev/null && command -v xml2wbxml >/dev/null ;;
    xdelta3) command -v xdelta3 >/dev/null ;;
    bsdiff) command -v bsdiff >/dev/null && command -v bspatch >/dev/null ;;
    openssl) command -v openssl >/dev/null ;;
    *) [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]] ;;
  esac
}

packages=(
  mosquitto
  qemu-user-static
  libc6-arm64-cross libstdc++6-arm64-cross libc6-armhf-cross libstdc++6-armhf-cross
  libatomic1-arm64-cross libatomic1-armhf-cross
  libwbxml2-utils
  xdelta3
  bsdiff
  openssl
)

missing=()
for package in "${packages[@]}"; do
  is_present "$package" || missing+=("$package")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "system-deps: all ${#packages[@]} packages present"
  exit 0
fi

install_line="apt-get install -y --no-install-recommends ${missing[*]}"
if [[ $(id -u) -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "system-deps: missing ${missing[*]}; install them with:" >&2
  echo "  sudo apt-get update && sudo $install_line" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "system-deps: missing ${missing[*]} and apt-get is not available (Debian/Ubuntu expected)" >&2
  exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! "${as_root[@]}" apt-get update -qq >"$log" 2>&1 ||
  ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
  cat "$log" >&2
  echo "system-deps: installing failed; try: sudo apt-get update && sudo $install_line" >&2
  exit 1
fi

# Verify: a package that installs but does not provide the expected tool is still a failure.
still=()
for package in "${missing[@]}"; do
  is_present "$package" || still+=("$package")
done
if [[ ${#still[@]} -gt 0 ]]; then
  echo "system-deps: installed, but still missing: ${still[*]}" >&2
  exit 1
fi
echo "system-deps: installed ${missing[*]}"
