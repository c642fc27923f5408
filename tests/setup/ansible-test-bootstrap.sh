#!/usr/bin/env bash
# ansible-test --venv bootstraps pip in each virtual environment with a get-pip
# script it downloads from a host this machine cannot reach. Give it a local
# replacement that runs pip from the PyPI wheel instead, cached where
# ansible-test looks: ~/.ansible/test/cache/get_pip_<version>.py
set -euo pipefail
python=${1:?usage: ansible-test-bootstrap.sh PYTHON}
cache=~/.ansible/test/cache

version=$("$python" - <<'PY'
import inspect, re
from ansible_test._internal import python_requirements
match = re.search(r"pip='([0-9.]+)'", inspect.getsource(python_requirements.get_venv_packages))
print(match.group(1))
PY
)
script="$cache/get_pip_${version//./_}.py"
[[ -f "$script" ]] && exit 0

mkdir -p "$cache"
"$python" -m pip download --quiet --no-deps --only-binary=:all: -d "$cache" "pip==$version"
wheel=$(ls "$cache"/pip-"$version"-*.whl)
cat > "$script" <<PY
"""Local stand-in for get-pip.py: installs pip $version from its PyPI wheel."""
import runpy
import sys

# get-pip.py options that pip itself does not take.
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.path.insert(0, "$wheel")
sys.argv = ["pip", "install", "--no-index", "--find-links", "$cache"] + args
runpy.run_module("pip", run_name="__main__", alter_sys=True)
PY
echo "ansible-test-bootstrap: wrote $script"
