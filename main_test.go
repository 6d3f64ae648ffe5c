package chain_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(idleHelperEnv) != "" {
		os.Exit(runIdleHelper())
	}
	goleak.VerifyTestMain(m)
}
