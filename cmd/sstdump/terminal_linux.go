package main

import "syscall"

// ioctlGetTermios reads a terminal's settings (isTerminal).
const ioctlGetTermios = syscall.TCGETS
