# Helpers shared by the ops/ scripts. Sourced, never run.

say() { printf '%s\n' "$*"; }
warn() { printf '%s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Seconds since a start time taken from $EPOCHREALTIME, one decimal.
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

is_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

# Installs Debian packages, with sudo when not root. Without a terminal (CI) sudo must not prompt, so
# it runs with -n and fails loudly instead of hanging. The package lists may be stale or absent on a
# fresh machine: one `apt-get update` and a retry before giving up.
apt_install() {
  local -a sudo=()
  if (( EUID != 0 )); then
    command -v sudo >/dev/null || die "installing $* needs root; run as root: apt-get install -y $*"
    sudo=(sudo)
    [[ -t 0 ]] || sudo+=(-n)
  fi
  say "installing: $*"
  local -a apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -y)
  "${apt[@]}" install "$@" || { "${apt[@]}" update && "${apt[@]}" install "$@"; }
}

# Installs the packages of this list that are not installed yet.
ensure_packages() {
  local pkg
  local -a missing=()
  for pkg in "$@"; do is_installed "$pkg" || missing+=("$pkg"); done
  (( ${#missing[@]} == 0 )) || apt_install "${missing[@]}"
}

# Installs PACKAGE when COMMAND is not on PATH (a command may come from elsewhere than apt, e.g. sdkman).
ensure_command() {
  command -v "$1" >/dev/null || apt_install "$2"
}
