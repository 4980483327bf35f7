#!/usr/bin/env bash
# The device benchmark, from a pack written by `npm run bench:device -- --pack DIR` (bench/device/README.md).
#
#   bash DIR/run.sh [--quick] [bench options: --cases, --kernels, --runs, --warmup, --budget]
#
# Writes device-<adapter>[-quick].json and .md and log.txt to $OUT (default ./out). Needs bash, tar and either xz
# or python3; nothing is installed, except the Vulkan loader's .debs unpacked into / when the machine has no
# libvulkan.so.1 (as the device README does; root only). Ends within TOTAL_S seconds (default 460): the cases get
# what is left after unpacking and probing, less 15 s for the bench's start and end, and a bench still running at
# TOTAL_S is killed (its JSON and markdown, rewritten after every case, stay).
set -uo pipefail
started=$SECONDS
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-./out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
export OUT
log="$OUT/log.txt"
: >"$log"
say() { echo "run.sh: $*" | tee -a "$log"; }

total=${TOTAL_S:-460}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/webgpu-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# xz when the machine has it, else Python's lzma (the H200 image has python3; xz-utils is not guaranteed).
unxz_to() {
  if command -v xz >/dev/null 2>&1; then
    xz -dc "$1" >"$2"
  else
    python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"
  fi
}

unxz_to "$here/app.tar.xz" "$tmp/app.tar" && tar -xf "$tmp/app.tar" -C "$tmp" && rm "$tmp/app.tar" || {
  say "could not unpack app.tar.xz"
  exit 1
}
unxz_to "$here/dawn.node.xz" "$tmp/node_modules/webgpu/dist/linux-x64/dawn.node" || exit 1
unxz_to "$here/node.xz" "$tmp/node" || exit 1
chmod +x "$tmp/node"
say "unpacked $(cat "$tmp/info.json" | tr -d '\n ') in $((SECONDS - started)) s; $("$tmp/node" --version)"

if ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  say "Vulkan loader: $(ldconfig -p | grep -m1 'libvulkan\.so\.1' | sed 's/.*=> //')"
elif [ "$(id -u)" = 0 ]; then
  for f in "$here"/debs/*.deb; do dpkg -x "$f" /; done
  ldconfig
  say "Vulkan loader: none on the machine, unpacked $(ls "$here"/debs | tr '\n' ' ')"
else
  say "Vulkan loader: none on the machine, and not root to unpack debs/ into /"
fi

# Dawn picks the first adapter that the Vulkan loader reports. Where the loader finds no GPU driver by itself
# (the H200 machine's NVIDIA ICD lives under /usr/local/nvidia), point it at the driver's manifest and ask again.
probe() { "$tmp/node" "$tmp/bench.mjs" --probe 2>&1 | tee -a "$log"; }
probe
rc=${PIPESTATUS[0]}
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
if [ "$rc" != 0 ] && [ -f "$icd" ] && [ -z "${VK_DRIVER_FILES:-}" ]; then
  say "no GPU adapter (probe exit $rc): retrying with VK_DRIVER_FILES=$icd"
  export VK_DRIVER_FILES=$icd __EGL_VENDOR_LIBRARY_FILENAMES=$egl
  probe
  rc=${PIPESTATUS[0]}
fi
case $rc in
0) ;;
3) say "only a software adapter: benchmarking it (slow; the GPU's driver was not found)" ;;
*)
  say "no WebGPU adapter (probe exit $rc)"
  exit 1
  ;;
esac

left=$((total - (SECONDS - started) - 15))
if [ "$left" -lt 30 ]; then
  say "only ${left} s left of ${total} s after startup"
  exit 1
fi
say "running the benchmark: ${left} s for the cases"
timeout -k 5 $((left + 10)) "$tmp/node" "$tmp/bench.mjs" --profile device --budget "$left" --out "$OUT" "$@" 2>&1 |
  tee -a "$log"
rc=${PIPESTATUS[0]}
[ "$rc" = 124 ] || [ "$rc" = 137 ] && say "killed at the time limit: the results hold every case before it"
say "exit $rc after $((SECONDS - started)) s; results in $OUT: $(ls "$OUT" | tr '\n' ' ')"
exit "$rc"
