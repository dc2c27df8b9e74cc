// Package apptest runs patchbay in tests: in the test's process (Start), or
// as a child process that a test can kill with SIGKILL for real (Child).
// A child is the test binary itself, re-executed: the test's TestMain calls
// RunChildIfAsked first, which runs patchbay when the process is a child.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/app"
)

// Start opens and starts patchbay with cfg (DataDir defaults to a temporary
// directory, Addr to a free loopback port, APIToken to "t") and stops it
// when the test ends.
func Start(t testing.TB, cfg app.Config) *app.App {
	t.Helper()
	if cfg.DataDir == "" && cfg.DBURL == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.APIToken == "" {
		cfg.APIToken = "t"
	}
	a, err := app.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := a.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return a
}

// WaitFor polls fn until it is true, failing the test after d.
func WaitFor(t testing.TB, what string, d time.Duration, fn func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if fn() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s", d, what)
}

// childEnv carries a child's configuration.
const childEnv = "PATCHBAY_TEST_CHILD"

// ChildConfig configures a child patchbay.
type ChildConfig struct {
	Data string `json:"data"` // the SQLite data directory (required)
	// Addr is where it listens; Child picks a free loopback port when
	// empty, and keeps it across restarts of the same Child.
	Addr              string        `json:"addr"`
	Workers           int           `json:"workers,omitempty"`
	FetchPollInterval time.Duration `json:"fetch_poll_interval,omitempty"`
	ReconcileEvery    time.Duration `json:"reconcile_every,omitempty"`
}

// RunChildIfAsked runs patchbay until SIGTERM and exits when this process
// was started by Child; otherwise it returns at once. Call it first in
// TestMain.
func RunChildIfAsked() {
	spec := os.Getenv(childEnv)
	if spec == "" {
		return
	}
	os.Exit(runChild(spec))
}

func runChild(spec string) int {
	var c ChildConfig
	if err := json.Unmarshal([]byte(spec), &c); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	a, err := app.Open(context.Background(), app.Config{DataDir: c.Data, Addr: c.Addr, APIToken: "t", Workers: c.Workers,
		FetchPollInterval: c.FetchPollInterval, ReconcileEvery: c.ReconcileEvery})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	if err := a.Start(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = a.Stop(ctx)
	return 0
}

// Child is a patchbay process a test starts, kills and restarts.
type Child struct {
	t   testing.TB
	cfg ChildConfig
	cmd *exec.Cmd

	mu   sync.Mutex
	logs bytes.Buffer // what every start printed
}

// NewChild prepares a child; Start runs it. Whatever runs when the test
// ends is killed.
func NewChild(t testing.TB, cfg ChildConfig) *Child {
	t.Helper()
	if cfg.Addr == "" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Addr = l.Addr().String()
		l.Close()
	}
	c := &Child{t: t, cfg: cfg}
	t.Cleanup(func() {
		c.Kill()
		if t.Failed() {
			t.Logf("child output:\n%s", c.Logs())
		}
	})
	return c
}

// URL is the child's base URL.
func (c *Child) URL() string { return "http://" + c.cfg.Addr }

// Start runs the child and returns once it answers /healthz.
func (c *Child) Start() {
	c.t.Helper()
	spec, _ := json.Marshal(c.cfg)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
	w := writerFunc(func(p []byte) (int, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.logs.Write(p)
	})
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.cmd = cmd
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(c.URL() + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.Kill()
	c.t.Fatalf("the child patchbay did not start:\n%s", c.Logs())
}

// Kill kills the child with SIGKILL and waits for it.
func (c *Child) Kill() {
	if c.cmd == nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	_ = c.cmd.Wait()
	c.cmd = nil
}

// Stop stops the child with SIGTERM (a clean shutdown) and waits for it.
func (c *Child) Stop() {
	if c.cmd == nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	_ = c.cmd.Wait()
	c.cmd = nil
}

// Logs is what the child printed so far, over all its starts.
func (c *Child) Logs() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.logs.String()
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
