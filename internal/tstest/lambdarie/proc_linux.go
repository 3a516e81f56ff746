package lambdarie

import "syscall"

// sysProcAttr puts the emulator in its own process group, so Stop also ends
// the bootstrap it started, and kills it if the parent (a test) dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
