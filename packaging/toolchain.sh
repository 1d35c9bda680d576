# Sourced by .ci/setup and packaging/build-deb: what they both ask of a Python before building.
# (Bash functions; the caller has `set -euo pipefail`.)

# python_minor PY: "3.11" for the interpreter PY (the -dev and -venv packages carry it).
python_minor() {
    "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])'
}

# can_compile PY: a C compiler and PY's headers (Python.h) are there, as mypyc needs.
can_compile() {
    command -v cc >/dev/null || command -v gcc >/dev/null || return 1
    "$1" -c 'import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))'
}
