#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to run WebGPU without a GPU,
# then the npm dependencies. Safe to re-run; skips apt on non-Debian systems.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v apt-get >/dev/null 2>&1 && grep -q bookworm /etc/os-release 2>/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  # Dawn rejects Debian 12's Mesa 22; lavapipe from bookworm-backports (Mesa 25) works.
  if ! dpkg-query -W -f='${Status} ${Version}' mesa-vulkan-drivers 2>/dev/null | grep -q 'installed .*bpo'; then
    src=/etc/apt/sources.list.d/bookworm-backports.sources
    if [ ! -f "$src" ]; then
      mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
      mirror=${mirror:-http://deb.debian.org/debian}
      printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" | $sudo tee "$src" >/dev/null
    fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers >/dev/null
  fi
  # Headless Chromium runs the browser tests (Debian's package: puppeteer never downloads a browser).
  if [ ! -x /usr/bin/chromium ]; then
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
  fi
  # PyTorch only regenerates the fixtures (scripts/torch/*.py); the tests read the committed ones, so it is opt-in:
  # WITH_TORCH=1 bash scripts/setup.sh.
  if [ "${WITH_TORCH:-0}" = 1 ] && ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-torch >/dev/null
  fi
  # The plots render text with system fonts.
  if ! dpkg-query -W -f='${Status}' fonts-dejavu-core 2>/dev/null | grep -q 'ok installed'; then
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq fonts-dejavu-core >/dev/null
  fi
  # The bench measures the CPU's FMA peak with a small C program (bench/peak/fma_peak.c).
  if ! command -v cc >/dev/null 2>&1; then
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq gcc libc6-dev >/dev/null
  fi
fi

export PUPPETEER_SKIP_DOWNLOAD=1
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
