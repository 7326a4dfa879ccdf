package main

import (
	"fmt"
	"syscall"
)

// Filesystem magic numbers of statfs(2), for the ones people stress.
var fsNames = map[int64]string{
	0xEF53:     "ext4", // ext2, ext3 and ext4 share it
	0x58465342: "xfs",
	0x9123683E: "btrfs",
	0x2FC12FC1: "zfs",
	0xF2F52010: "f2fs",
	0x01021994: "tmpfs",
	0x6969:     "nfs",
	0xFF534D42: "cifs",
	0xFE534D42: "smb2",
	0x65735546: "fuse",
	0x794C7630: "overlayfs",
	0x4D44:     "vfat",
	0x5346544E: "ntfs",
	0x73717368: "squashfs",
	0x01021997: "9p",
	0x858458F6: "ramfs",
	0x3153464A: "jfs",
	0x52654973: "reiserfs",
	0x7461636F: "ocfs2",
	0x47504653: "gpfs",
	0x0BD00BD0: "lustre",
	0x00C36400: "ceph",
}

// fsType names the filesystem dir is on ("ext4", "tmpfs"), or its magic number in hex; "" when
// statfs fails.
func fsType(dir string) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return ""
	}
	magic := int64(st.Type) & 0xFFFFFFFF
	if name, ok := fsNames[magic]; ok {
		return name
	}
	return fmt.Sprintf("filesystem 0x%x", magic)
}
