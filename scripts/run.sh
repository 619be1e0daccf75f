#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make run`: boots the release kernel on 4 vCPUs and runs Debian's nginx
# under wrk, first on stock 6.12, then with fastsocket (libfsocket.so), and
# prints the two side by side.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kdir=$("$top/scripts/kernel.sh" dir release)
out=${FASTSOCKET_RESULTS:-$top/.results}/run
rm -rf "$out"
mkdir -p "$out"
cat >"$out/env.sh" <<EOT
export FS_MODULE=$kdir/fastsocket-module/rust/fastsocket.ko
export FS_BENCH=$top/userspace-tools/target/release/fsbench
export FS_RUN_SECONDS=${FS_RUN_SECONDS:-15}
export FS_TOP=$top
export FS_KV=/dev/null
EOT

echo ">>> booting the release kernel on 4 vCPUs under QEMU (TCG; about a minute)," \
	"then two runs of $((${FS_RUN_SECONDS:-15})) s"
# The guest's own output comes back on stdout, the kernel console on stderr.
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
