#!/bin/sh
# Proves the app on a second supported Python: builds a throwaway environment
# with another Python 3.11-3.13 than .venv's, installs the locked runtime
# packages (hashes from Pipfile.lock), synthesizes every stack with it and
# compares the output byte for byte with cdktf.out (`make synth` first).
# OTHER_PYTHON=/path/to/python3.x picks the interpreter; otherwise the first
# other supported one found on PATH or under pyenv is used.
# Exit: 0 identical; 1 different output; 2 no other Python or set-up failed.
set -eu
cd "$(dirname "$0")/../.."

current=$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
version_of() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true; }

other="${OTHER_PYTHON:-}"
if [ -z "$other" ]; then
  for candidate in python3.13 python3.12 python3.11 \
      "$HOME"/.pyenv/versions/3.13*/bin/python3.13 "$HOME"/.pyenv/versions/3.12*/bin/python3.12 \
      "$HOME"/.pyenv/versions/3.11*/bin/python3.11; do
    path=$(command -v "$candidate" 2>/dev/null || true)
    [ -n "$path" ] || continue
    version=$(version_of "$path")
    case "$version" in 3.11|3.12|3.13) ;; *) continue ;; esac
    if [ "$version" != "$current" ]; then other=$path; break; fi
  done
fi
if [ -z "$other" ]; then
  echo "other-python: no supported Python other than $current found; set OTHER_PYTHON=/path/to/python3.x" >&2
  exit 2
fi
version=$(version_of "$other")
[ -f cdktf.out/manifest.json ] || { echo "other-python: no cdktf.out/manifest.json; run make synth first" >&2; exit 2; }

work=".bench/other-python/$version"
rm -rf "$work" && mkdir -p "$work"
"$other" -m venv "$work/venv"
.tools/bin/python -m pipenv requirements --hash > "$work/requirements.txt"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  --require-hashes -r "$work/requirements.txt"
CDKTF_OUTDIR="$work/cdktf.out" \
  "$work/venv/bin/python" main.py > "$work/synth.log" 2>&1 || {
    echo "other-python: synthesis on Python $version failed:" >&2; tail -5 "$work/synth.log" >&2; exit 1; }
if diff -r -q --exclude=.terraform --exclude='*.lock.hcl' \
    cdktf.out "$work/cdktf.out" >/dev/null; then
  stacks=$(ls "$work/cdktf.out/stacks" | wc -l)
  echo "other-python: Python $version synthesizes the same bytes as Python $current ($stacks stacks and the manifest)"
  rm -rf "$work/venv"
  exit 0
fi
echo "other-python: Python $version output differs from Python $current's:" >&2
diff -r -q --exclude=.terraform --exclude='*.lock.hcl' cdktf.out "$work/cdktf.out" >&2 || true
exit 1
