package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"
)

func TestParseFlagsInvalid(t *testing.T) {
	for _, args := range [][]string{
		{"-store", "disk"},
		{"-data", "/tmp"}, // needs -store bolt
		{"-w", "0"},
		{"-c", "0"},
		{"-size", "-1"},
		{"-d", "0"},
		{"-n", "-1"},
		{"-timeout", "0"},
		{"-max-append-entries", "0"},
		{"-max-append-entries", "2000"},
		{"extra"},
	} {
		if _, err := parseFlags(args, &bytes.Buffer{}); err == nil {
			t.Errorf("args %q: no error", args)
		}
	}
	f, err := parseFlags([]string{"-json"}, &bytes.Buffer{})
	if err != nil || f.Progress != 0 || f.maxAppendEntries != 512 || f.store != "mem" {
		t.Errorf("defaults with -json: %+v, %v", f, err)
	}
}

func runJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	if err := run(ctx, append([]string{"-json"}, args...), &stdout, &stderr); err != nil {
		t.Fatalf("run: %v; stderr: %s", err, stderr.String())
	}
	var m map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &m); err != nil {
		t.Fatalf("summary %q: %v", stdout.String(), err)
	}
	for _, k := range []string{"ops_per_sec", "ops", "errors", "duration_sec", "workers", "inflight", "size",
		"p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms", "mode"} {
		if _, ok := m[k]; !ok {
			t.Errorf("summary lacks %s: %s", k, stdout.String())
		}
	}
	return m
}

func TestRunMem(t *testing.T) {
	m := runJSON(t, "-n", "2000", "-w", "2", "-c", "16")
	if m["mode"] != "raft-mem" || m["ops"] != 2000.0 || m["errors"] != 0.0 || m["ops_per_sec"].(float64) <= 0 {
		t.Errorf("summary: %v", m)
	}
}

func TestRunBolt(t *testing.T) {
	dir := t.TempDir()
	m := runJSON(t, "-store", "bolt", "-data", dir, "-n", "300", "-w", "1", "-c", "8")
	if m["mode"] != "raft-bolt" || m["ops"] != 300.0 || m["errors"] != 0.0 {
		t.Errorf("summary: %v", m)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("data left behind: %v", left)
	}
}

func TestRunClientHop(t *testing.T) {
	m := runJSON(t, "-client-hop", "-n", "2000", "-w", "2", "-c", "16")
	if m["mode"] != "raft-mem-hop" || m["ops"] != 2000.0 || m["errors"] != 0.0 || m["ops_per_sec"].(float64) <= 0 {
		t.Errorf("summary: %v", m)
	}
}
