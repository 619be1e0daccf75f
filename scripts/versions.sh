# SPDX-License-Identifier: GPL-2.0
# The pins: one place for every version the build depends on.
FS_LINUX_DEB_VERSION="6.12.117-1~deb12u1"
FS_LINUX_TARBALL=/usr/src/linux-source-6.12.tar.xz
FS_LLVM=-19
FS_BINDGEN_VERSION=0.73.2
FS_VIRTME_NG_VERSION=1.42
