#!/usr/bin/env bash
# Scan the running site with Wapiti, signed in as an administrator and as a learner, and fail
# on any finding of medium level or higher (scripts/security_scan.py says how).
#
# Wapiti lives in .venv-wapiti, installed from scripts/requirements-scan.txt and reinstalled
# when that file changes; the application's own virtual environment must exist (make setup).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
SCAN_VENV="$ROOT/.venv-wapiti"
REQUIREMENTS="$ROOT/scripts/requirements-scan.txt"
STAMP="$SCAN_VENV/.installed"

if [ ! -x .venv/bin/python ]; then
  echo "The application's virtual environment (.venv) is missing: run 'make setup' first." >&2
  exit 2
fi
if [ ! -f "$STAMP" ] || [ "$REQUIREMENTS" -nt "$STAMP" ]; then
  echo "== Installing Wapiti in .venv-wapiti ==" >&2
  [ -x "$SCAN_VENV/bin/python" ] || "$PYTHON" -m venv "$SCAN_VENV"
  "$SCAN_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  touch "$STAMP"
fi

PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" \
  exec .venv/bin/python scripts/security_scan.py --wapiti "$SCAN_VENV/bin/wapiti" "$@"
