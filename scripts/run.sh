#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make run`: boots the release kernel on 4 vCPUs and runs Debian's nginx
# under wrk, first on stock 6.12, then with fastsocket (libfsocket.so), and
# prints the two side by side.  The VM runs with the coherence plugin
# (Documentation/coherence.rst), and a short window of each run counts its
# cache-line transfers and instructions per connection.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kdir=$("$top/scripts/kernel.sh" dir release)
out=${FASTSOCKET_RESULTS:-$top/.results}/run
plugin=$top/userspace-tools/target/release/libcoherence_plugin.so
[ -f "$plugin" ] || {
	echo "error: no $plugin: build the userspace tools (make tools)" >&2
	exit 1
}
rm -rf "$out"
mkdir -p "$out"
cat >"$out/env.sh" <<EOT
export FS_MODULE=$kdir/fastsocket-module/rust/fastsocket.ko
export FS_BENCH=$top/userspace-tools/target/release/fsbench
export FS_RUN_SECONDS=${FS_RUN_SECONDS:-15}
export FS_RUN_WINDOW_SECONDS=${FS_RUN_WINDOW_SECONDS:-4}
export FS_COHERENCE_OUT=$out/coherence.json
export FS_TOP=$top
export FS_KV=/dev/null
EOT

echo ">>> booting the release kernel on 4 vCPUs under QEMU (TCG, with the coherence" \
	"plugin; about two minutes), then two runs of $((${FS_RUN_SECONDS:-15})) s and two" \
	"counted windows of $((${FS_RUN_WINDOW_SECONDS:-4})) s"
# The plugin's results go to the shared directory, where the guest reads
# them; the kernel's System.map (and the guest's kallsyms, which the guest
# copies there) name the functions in its list.  boot.sh adds nokaslr.
# The guest's own output comes back on stdout, the kernel console on stderr.
FASTSOCKET_QEMU_PLUGIN="$plugin,out=$out/coherence.json,symbols=$kdir/System.map,kallsyms=$out/kallsyms" \
	"$top/tests/vm/boot.sh" "$kdir" 4 "$out" "$top/scripts/run-guest.sh $out" \
	2>"$out/console.log" | sed -un 's/^@@demo //p' || true
if [ ! -f "$out/demo.finished" ]; then
	echo "error: the VM did not finish the demonstration; console: $out/console.log" >&2
	exit 1
fi
if grep -Eqf "$top/tests/vm/report-patterns" "$out/console.log"; then
	echo "error: the kernel reported a problem; console: $out/console.log" >&2
	exit 1
fi
echo ">>> done; kernel console: $out/console.log"
