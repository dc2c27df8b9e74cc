// Package pgtest gives tests (and the benchmark) a PostgreSQL database: the server named by
// PATCHBAY_TEST_POSTGRES, or else a throwaway server started with initdb and
// pg_ctl on a temporary directory and a free loopback port, shared by the
// tests of one test binary and stopped by Main. Each caller gets a fresh
// database.
package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the variable holding an existing server's URL.
const EnvURL = "PATCHBAY_TEST_POSTGRES"

var (
	once     sync.Once
	baseURL  string
	startErr error
	server   *throwaway
	dbSeq    atomic.Int64
)

// Main runs the tests and stops the throwaway server, if one was started.
// Call it from TestMain: os.Exit(pgtest.Main(m)).
func Main(m interface{ Run() int }) int {
	code := m.Run()
	if server != nil {
		server.stop()
	}
	return code
}

// URL returns the URL of a new, empty database, or skips the test when no
// server is available and none can be started.
func URL(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		if u := os.Getenv(EnvURL); u != "" {
			baseURL = u
			return
		}
		server, startErr = start()
		if startErr == nil {
			baseURL = server.url
		}
	})
	if startErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("postgres: %v", startErr)
		}
		t.Skipf("postgres not available: %v (set %s or install PostgreSQL server binaries)", startErr, EnvURL)
	}
	u, err := NewDatabase(baseURL)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// NewDatabase creates an empty database on the server at base and returns its URL.
func NewDatabase(base string) (string, error) {
	name := fmt.Sprintf("pbtest_%d_%d", os.Getpid(), dbSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", fmt.Errorf("postgres: connecting: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("postgres: creating database: %w", err)
	}
	return withDatabase(base, name)
}

// Server is a throwaway PostgreSQL server.
type Server struct {
	URL string
	t   *throwaway
}

// Stop stops the server and removes its files.
func (s *Server) Stop() { s.t.stop() }

// Start starts a throwaway server (for benchmarks and tools; tests use URL).
func Start() (*Server, error) {
	t, err := start()
	if err != nil {
		return nil, err
	}
	return &Server{URL: t.url, t: t}, nil
}

func withDatabase(base, name string) (string, error) {
	cfg, err := pgx.ParseConfig(base)
	if err != nil {
		return "", fmt.Errorf("postgres: parsing %s: %w", EnvURL, err)
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name), nil
}

type throwaway struct {
	dir  string
	bin  string
	url  string
	cred *syscall.Credential
}

// BinDir finds the PostgreSQL server binaries.
func BinDir() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), "initdb")); err == nil {
			return filepath.Dir(p), nil
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(matches) == 0 {
		return "", fmt.Errorf("pg_ctl not found on PATH or in /usr/lib/postgresql/*/bin")
	}
	return filepath.Dir(matches[len(matches)-1]), nil
}

func start() (*throwaway, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "patchbay-pg-")
	if err != nil {
		return nil, err
	}
	s := &throwaway{dir: dir, bin: bin}
	// PostgreSQL refuses to run as root: run it as the postgres user.
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root and no postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if out, err := s.run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"); err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300", port, dir)
	if out, err := s.run("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start"); err != nil {
		return nil, fmt.Errorf("pg_ctl start: %v: %s", err, out)
	}
	s.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return s, nil
}

func (s *throwaway) run(name string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = s.dir
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func (s *throwaway) stop() {
	_, _ = s.run("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "stop")
	os.RemoveAll(s.dir)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
