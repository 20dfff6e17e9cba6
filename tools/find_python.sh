# Sourced by the launchers: sets ROOT (the repository) and PYTHON, the
# interpreter found as `make` finds it: $PYTHON if set, else the
# repository's .venv, else python3; puts ROOT on PYTHONPATH so that a
# fresh clone runs without installing or activating anything.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${PYTHON:-}" ]; then
    if [ -x "$ROOT/.venv/bin/python" ]; then
        PYTHON="$ROOT/.venv/bin/python"
    else
        PYTHON=python3
    fi
fi
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
