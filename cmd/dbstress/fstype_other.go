//go:build !linux

package main

// fsType names the filesystem dir is on; dbstress knows how to ask only on Linux.
func fsType(dir string) string { return "" }
