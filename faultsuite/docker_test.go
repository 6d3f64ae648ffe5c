//go:build docker

package faultsuite

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// failureTimeout is the masters' failure timeout in the schedules.
const failureTimeout = 2 * time.Second

// envUint reads a non-negative integer from the environment.
func envUint(t *testing.T, name string, def uint64) uint64 {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, s, err)
	}
	return v
}

// TestDockerFaults runs fault schedules on clusters of containers (see the
// package doc): CHAIN_SCHEDULES of them (default 6) from seed
// CHAIN_SEED_BASE (default 1), or the one of CHAIN_SEED; CHAIN_STEPS
// faults each (default 3).
func TestDockerFaults(t *testing.T) {
	ctx := context.Background()
	if err := DockerWorks(ctx); err != nil {
		t.Fatalf("the fault suite needs Docker (docker info failed): %v", err)
	}
	image := "chainfs:test"
	build := exec.Command(filepath.Join("..", "deploy", "docker", "build.sh"))
	build.Env = append(os.Environ(), "IMAGE="+image, "EXTRA=./faultsuite/load")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the image: %v\n%s", err, out)
	}
	if err := RemoveLeftovers(ctx); err != nil {
		t.Fatalf("remove what an earlier run left: %v", err)
	}
	seeds := []uint64{}
	if s := os.Getenv("CHAIN_SEED"); s != "" {
		seeds = append(seeds, envUint(t, "CHAIN_SEED", 0))
	} else {
		base, n := envUint(t, "CHAIN_SEED_BASE", 1), envUint(t, "CHAIN_SCHEDULES", 6)
		for i := range n {
			seeds = append(seeds, base+i)
		}
	}
	steps := int(envUint(t, "CHAIN_STEPS", 3))
	cfg := Config{Image: image, Dir: os.TempDir(), FT: failureTimeout, Logf: t.Logf}
	failed := 0
	for _, seed := range seeds {
		s := Draw(seed, steps, failureTimeout)
		ok := t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) {
			cfg := cfg
			cfg.Logf = t.Logf
			t.Logf("schedule %s", s)
			start := time.Now()
			violations, err := RunSchedule(ctx, cfg, s)
			t.Logf("schedule of seed %d took %v", seed, time.Since(start).Round(time.Second))
			if len(violations) > 0 || err != nil {
				t.Logf("replay: CHAIN_SEED=%d CHAIN_STEPS=%d go test -tags docker -run TestDockerFaults ./faultsuite -v", seed, steps)
			}
			for _, v := range violations {
				t.Errorf("seed %d: %s", seed, v)
			}
			if err != nil {
				t.Fatalf("seed %d: the schedule could not run: %v", seed, err)
			}
		})
		if !ok {
			failed++
		}
	}
	t.Logf("fault schedules on containers: %d passed, %d failed", len(seeds)-failed, failed)
}
