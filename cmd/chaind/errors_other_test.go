//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package main

const holdLockEnv = "CHAIND_TEST_HOLD_LOCK"

func holdLock() {}
