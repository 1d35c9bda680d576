#!/usr/bin/env bash
# Install roomwatch as a systemd service (see systemd/README.md):
#   - a system user `roomwatch` (member of dialout, for serial adapters)
#   - roomwatch in its own venv:        /opt/roomwatch/venv
#   - a starter configuration:          /etc/roomwatch (never overwritten)
#   - the unit:                         /etc/systemd/system/roomwatch.service
#   - state (ticket store, spool, …):   /var/lib/roomwatch (made by systemd: StateDirectory=)
#
# Usage (as root, from a checkout or an unpacked source tree):
#   systemd/install.sh [--source DIR] [--python PYTHON] [--root DIR] [--skip-venv]
#     --source DIR   what to pip-install (default: the tree this script is in)
#     --python PY    the interpreter for the venv, Python >= 3.11 (default: python3)
#     --root DIR     install under DIR instead of / (packaging, tests): no user is created,
#                    nothing is chowned, systemctl is not called
#     --skip-venv    do not create or update the venv (only config, unit and user)
# Running it again upgrades the venv and the unit and leaves the configuration alone.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/.." && pwd)
python=python3
root=""
skip_venv=0

while [ $# -gt 0 ]; do
    case "$1" in
        --source) source_dir=$(cd "$2" && pwd); shift 2 ;;
        --python) python=$2; shift 2 ;;
        --root) root=$(mkdir -p "$2" && cd "$2" && pwd); shift 2 ;;
        --skip-venv) skip_venv=1; shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done

prefix="$root/opt/roomwatch"
etc="$root/etc/roomwatch"
unit_dir="$root/etc/systemd/system"
user=roomwatch

say() { printf '%s\n' "roomwatch install: $*"; }

if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: run as root (or use --root DIR to install into a directory)" >&2
    exit 1
fi

# 1. The service user: no login, no home of its own beyond the state directory.
if [ -z "$root" ]; then
    if ! getent group "$user" >/dev/null; then
        groupadd --system "$user"
    fi
    if ! getent passwd "$user" >/dev/null; then
        useradd --system --gid "$user" --home-dir /var/lib/roomwatch --no-create-home \
            --shell /usr/sbin/nologin --comment "roomwatch monitoring daemon" "$user"
        say "created system user $user"
    fi
    if getent group dialout >/dev/null; then
        usermod --append --groups dialout "$user"
    fi
fi

# 2. roomwatch in its own venv: its top-level packages (probes, rules, …) have generic
#    names and must not meet another project's in a shared site-packages.
if [ "$skip_venv" -eq 0 ]; then
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "install.sh: roomwatch needs Python >= 3.11; give one with --python" >&2
        exit 1
    fi
    if [ ! -x "$prefix/venv/bin/python" ]; then
        "$python" -m venv "$prefix/venv"
        say "created venv $prefix/venv"
    fi
    "$prefix/venv/bin/python" -m pip install --quiet --upgrade pip
    "$prefix/venv/bin/python" -m pip install --quiet --upgrade "$source_dir"
    say "installed $("$prefix/venv/bin/python" -m pip show roomwatch | sed -n 's/^Version: //p') into $prefix/venv"
fi
install -d -m 0755 "$prefix/share"
install -m 0644 "$here/README.md" "$prefix/share/README.md"

# 3. Configuration: a starter set the first time, never overwritten afterwards.
install -d -m 0750 "$etc" "$etc/rules"
starter() {  # starter FILE MODE: copy from systemd/etc/ unless the admin has one already
    if [ -e "$etc/$1" ]; then
        say "kept existing $etc/$1"
    else
        install -m "$2" "$here/etc/$1" "$etc/$1"
        say "wrote starter $etc/$1"
    fi
}
starter roomwatch.yaml 0640
starter inventory.yaml 0640
starter credentials.yaml 0640
starter rules/roomwatch.yaml 0640
if [ -z "$root" ]; then
    # root owns the files (the daemon cannot rewrite its own config); the group may read
    chown -R root:"$user" "$etc"
fi

# 4. The unit.
upgrade=0
[ -e "$unit_dir/roomwatch.service" ] && upgrade=1
install -d -m 0755 "$unit_dir"
install -m 0644 "$here/roomwatch.service" "$unit_dir/roomwatch.service"
say "installed $unit_dir/roomwatch.service"

if [ -z "$root" ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
fi

if [ "$upgrade" -eq 1 ]; then
    cat <<EOF
roomwatch install: upgraded. A running roomwatch keeps the old code until it is restarted:
  check the configuration:  $prefix/venv/bin/roomwatch check -c $etc/roomwatch.yaml
  then restart it:          systemctl restart roomwatch
EOF
    exit 0
fi

cat <<EOF
roomwatch install: done. Next:
  1. describe your room:  $etc/inventory.yaml, rules in $etc/rules/,
     secrets in $etc/credentials.yaml (mode 0640, root:$user)
  2. check it:            $prefix/venv/bin/roomwatch check -c $etc/roomwatch.yaml
  3. start it:            systemctl enable --now roomwatch
  4. watch it:            journalctl -u roomwatch -f ; systemctl status roomwatch
     the room's screen:   http://127.0.0.1:8765/
EOF
