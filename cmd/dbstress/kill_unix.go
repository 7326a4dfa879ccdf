//go:build unix

package main

// killSupported: a child gets the pipe as an extra file descriptor, which needs a Unix system.
const killSupported = true
