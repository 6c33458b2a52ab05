#!/usr/bin/env bash
# Every test of the project: the Rust suite (with the test-only hooks), then
# the clients under editors/ against the binary it built.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# Debian packages, installed when missing (CI runs as root; elsewhere sudo).
apt_install() {
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@") > /dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" > /dev/null
  fi
}

echo "== storage servers for the remote cache tests (tests/remote_cache.rs)"
if ! command -v s3s-fs > /dev/null && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/s3s-fs" ]; then
  echo "installing s3s-fs (an S3 server over a folder)"
  cargo install s3s-fs@0.14.1 --features binary --locked --quiet
fi
if ! command -v nginx > /dev/null && [ ! -x /usr/sbin/nginx ]; then
  echo "installing nginx (a WebDAV cache)"
  apt_install nginx
fi

echo "== python3 for the scripted tests (tests/scripted.rs, and the other-user tests)"
if ! command -v python3 > /dev/null; then
  echo "installing python3"
  apt_install python3
fi

echo "== ffmpeg, the decoder and loudness meter that check sound (tests/audio.rs)"
if ! command -v ffmpeg > /dev/null; then
  echo "installing ffmpeg"
  apt_install ffmpeg
fi

# A test never passes without doing its work. Those that need root (mounts,
# chown, a process run as another user) are #[ignore = "needs root: ..."],
# so a plain `cargo test` counts them as ignored with their reason. Here
# they run as root, and always in CI, where a missing prerequisite fails
# them rather than skipping them.
if [ "$(id -u)" = 0 ] || [ -n "${CI:-}" ]; then
  cargo test --all-features -- --include-ignored
else
  cargo test --all-features
  echo "not root: these tests need root and were counted as ignored, not run:"
  cargo test --all-features --quiet -- --list --ignored 2> /dev/null | sed -n 's/: test$//p' | sed 's/^/  /'
fi

echo "== fuzzing, bounded (cargo-fuzz on nightly; see scripts/fuzz.sh)"
bash scripts/fuzz.sh

echo "== editors/vscode (node's test runner)"
if ! command -v npm > /dev/null; then
  echo "npm is not installed: cannot test editors/vscode" >&2
  exit 1
fi
(
  cd editors/vscode
  npm ci --no-audit --no-fund --loglevel=error
  npx tsc -p .
  STUDIO_PACKER_BIN="$root/target/debug/studio-packer" node --test out/test/
)

echo "== editors/nvim (headless Neovim)"
if ! command -v nvim > /dev/null; then
  echo "installing Neovim from the distribution's packages"
  apt_install neovim
fi
project=$(mktemp -d)
trap 'rm -rf "$project"' EXIT
cp -r examples/sample-game/. "$project/"
rm -rf "$project/.packer" "$project/build"
log="$project.nvim.log"
status=0
STUDIO_PACKER_BIN="$root/target/debug/studio-packer" PROJECT="$project" \
  timeout 300 nvim --headless -u NONE --cmd "set rtp+=$root/editors/nvim" \
  -c "luafile $root/editors/nvim/test/run.lua" > "$log" 2>&1 || status=$?
cat "$log"
echo
# run.lua prints `ok ...` per check, `FAILED: ...` and exits non-zero on a failure.
if [ "$status" != 0 ] || ! grep -q "^ok last build: desktop succeeded, mobile succeeded" "$log"; then
  echo "editors/nvim: FAILED (exit $status)" >&2
  exit 1
fi
echo "editors/nvim: $(grep -c '^ok ' "$log") passed, 0 failed"
