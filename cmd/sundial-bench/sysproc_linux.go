package main

import "syscall"

// childAttr makes the kernel kill the spawned server if the tool dies
// first, so a crashed or killed benchmark never leaves a server behind.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
