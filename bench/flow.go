// Package bench holds patchbay's benchmarks. Each scenario starts patchbay
// as a separate process (so its memory is measured alone), drives it from
// this process over loopback, and reports one JSON object per configuration.
//
// Scenario "flow": N webhook events shaped like iconik asset events go to
// a flow webhook → set (map 5 fields) → http POST to a local sink, at a given
// concurrency. Reported: accepted events/s, end-to-end runs/s, webhook-ack
// and end-to-end latency percentiles, and patchbay's peak RSS.
package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/patchbay/patchbay/internal/app"
	"github.com/patchbay/patchbay/internal/secret"
	"github.com/patchbay/patchbay/internal/store/postgres/pgtest"
)

// FlowOptions configure the flow benchmark.
type FlowOptions struct {
	Events int
	// Warmup events are sent (at the same concurrency) and their runs
	// awaited before the Events are measured: the figures are then of a
	// running patchbay (caches filled, heap grown), not of one just started.
	Warmup      int
	Concurrency int
	Store       string // sqlite or postgres
	// Binary is the patchbay executable to start (default: this process's).
	Binary string
	// PostgresURL is a server to use; empty starts a throwaway one.
	PostgresURL string
	// Workers sizes patchbay's run queue.
	Workers int
	// Env adds environment variables to the patchbay process.
	Env []string
	// Progress receives progress lines (nil: none).
	Progress io.Writer
	// Audit turns the audit trail on in the patchbay process (when it has one).
	Audit bool
}

// FlowResult is one line of output.
type FlowResult struct {
	Store        string  `json:"store"`
	Concurrency  int     `json:"concurrency"`
	Events       int     `json:"events"`
	Warmup       int     `json:"warmup,omitempty"`
	Audit        bool    `json:"audit"`
	AcceptedPerS float64 `json:"accepted_per_s"`
	RunsPerS     float64 `json:"runs_per_s"`
	AckP50MS     float64 `json:"ack_p50_ms"`
	AckP99MS     float64 `json:"ack_p99_ms"`
	E2EP50MS     float64 `json:"e2e_p50_ms"`
	E2EP99MS     float64 `json:"e2e_p99_ms"`
	PeakRSSMB    float64 `json:"peak_rss_mb"`
	// CPUMSPerRun is patchbay's CPU time (user + system) per delivered
	// run, from the first event to the last run: what a run costs,
	// whatever else the machine is doing.
	CPUMSPerRun   float64 `json:"cpu_ms_per_run"`
	Failed        int     `json:"failed_requests"`
	Delivered     int     `json:"delivered"`
	DurationS     float64 `json:"duration_s"`
	GoMaxProcs    string  `json:"gomaxprocs,omitempty"`
	PatchbayError string  `json:"error,omitempty"`
}

// BenchFlowYAML is the benchmark's flow.
const BenchFlowYAML = `name: bench-flow
connections:
  hook: { connector: http, connection: bench-in }
  sink: { connector: http, connection: bench-sink }
trigger:
  on: hook.webhook
steps:
  - id: map
    set:
      asset_id: ${{ trigger.data.body.object_id }}
      title: ${{ trigger.data.body.data.title }}
      status: ${{ lower(trigger.data.body.data.status) }}
      modified: ${{ trigger.data.body.data.date_modified }}
      seq: ${{ trigger.data.body.seq }}
  - id: post
    action: sink.request
    input:
      method: POST
      url: /sink
      json:
        asset_id: ${{ vars.asset_id }}
        title: ${{ vars.title }}
        status: ${{ vars.status }}
        modified: ${{ vars.modified }}
        seq: ${{ vars.seq }}
`

// Flow runs the flow benchmark once.
func Flow(ctx context.Context, o FlowOptions) (*FlowResult, error) {
	if o.Events <= 0 {
		o.Events = 5000
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 32
	}
	if o.Workers <= 0 {
		o.Workers = 64
	}
	if o.Store == "" {
		o.Store = "sqlite"
	}
	if o.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		o.Binary = exe
	}
	o.Warmup = max(o.Warmup, 0)
	res := &FlowResult{Store: o.Store, Concurrency: o.Concurrency, Events: o.Events, Warmup: o.Warmup, Audit: o.Audit}

	// The sink records when each event's run delivered it. Events are
	// numbered warm-up first: seq 0 … Warmup-1, then the measured ones.
	total := o.Warmup + o.Events
	sent := make([]time.Time, total)
	done := make([]time.Time, total)
	var delivered atomic.Int64
	allDone := make(chan struct{})
	var doneOnce sync.Once
	sinkLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	sink := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Seq int `json:"seq"`
		}
		b, _ := io.ReadAll(r.Body)
		if json.Unmarshal(b, &body) == nil && body.Seq >= 0 && body.Seq < len(done) && done[body.Seq].IsZero() {
			done[body.Seq] = time.Now()
			if int(delivered.Add(1)) == len(done) {
				doneOnce.Do(func() { close(allDone) })
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	})}
	go func() { _ = sink.Serve(sinkLn) }()
	defer sink.Close()
	sinkURL := "http://" + sinkLn.Addr().String()

	// Store.
	dir, err := os.MkdirTemp("", "patchbay-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	args := []string{"--log-level", "warn"}
	switch o.Store {
	case "sqlite":
		args = append(args, "--data", dir)
	case "postgres":
		base := o.PostgresURL
		if base == "" {
			srv, err := pgtest.Start()
			if err != nil {
				return nil, fmt.Errorf("starting postgres: %w", err)
			}
			defer srv.Stop()
			base = srv.URL
		}
		url, err := pgtest.NewDatabase(base)
		if err != nil {
			return nil, err
		}
		args = append(args, "--db", url)
	default:
		return nil, fmt.Errorf("unknown store %q: want sqlite or postgres", o.Store)
	}

	// A PostgreSQL store keeps no key file: the connections' secrets need
	// a key from the environment, a throwaway one unless the user gave one.
	if o.Store == "postgres" && os.Getenv(secret.EnvKey) == "" {
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return nil, err
		}
		os.Setenv(secret.EnvKey, base64.StdEncoding.EncodeToString(k))
		defer os.Unsetenv(secret.EnvKey)
	}

	// Prepare connections and the flow through the store, then start patchbay.
	cfg := app.Config{Role: app.RoleClient, APIToken: "bench"}
	if o.Store == "sqlite" {
		cfg.DataDir = dir
	} else {
		cfg.DBURL = args[len(args)-1]
	}
	a, err := app.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	prepErr := func() error {
		if err := a.PutConnection(ctx, "bench-in", "http", map[string]any{"webhook_secret": "bench-secret"}, "bench"); err != nil {
			return err
		}
		if err := a.PutConnection(ctx, "bench-sink", "http", map[string]any{"base_url": sinkURL, "allow": []any{"127.0.0.1"}}, "bench"); err != nil {
			return err
		}
		_, err := a.ApplyFlow(ctx, "bench-flow.yaml", []byte(BenchFlowYAML), "bench")
		return err
	}()
	_ = a.Stop(ctx)
	if prepErr != nil {
		return nil, prepErr
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	args = append(args, "up", "--addr", addr, "--workers", strconv.Itoa(o.Workers))
	cmd := exec.CommandContext(ctx, o.Binary, args...)
	cmd.Env = append(os.Environ(), o.Env...)
	if o.Audit {
		cmd.Env = append(cmd.Env, "PATCHBAY_AUDIT=on")
	} else {
		cmd.Env = append(cmd.Env, "PATCHBAY_AUDIT=off")
	}
	cmd.Env = append(cmd.Env, "PATCHBAY_API_TOKEN=bench")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		waitDone := make(chan struct{})
		go func() { _ = cmd.Wait(); close(waitDone) }()
		select {
		case <-waitDone:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
		}
	}()
	base := "http://" + addr
	if err := waitHealthy(ctx, base, 30*time.Second); err != nil {
		return nil, fmt.Errorf("%w\npatchbay output:\n%s", err, logs.String())
	}
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "bench: %s c=%d: sending %d events to %s\n", o.Store, o.Concurrency, o.Events, base)
	}

	// Fire events [from, to) from o.Concurrency senders.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.Concurrency * 2, MaxConnsPerHost: o.Concurrency * 2}, Timeout: 60 * time.Second}
	acks := make([]time.Duration, total)
	var failed atomic.Int64
	fire := func(from, to int) {
		var next atomic.Int64
		next.Store(int64(from))
		var wg sync.WaitGroup
		for range o.Concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= to {
						return
					}
					body := assetEvent(i)
					req, _ := http.NewRequestWithContext(ctx, "POST", base+"/hooks/bench-in/webhook", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("X-Patchbay-Token", "bench-secret")
					req.Header.Set("X-Event-Id", "bench-"+strconv.Itoa(i))
					t0 := time.Now()
					sent[i] = t0
					resp, err := client.Do(req)
					if err != nil {
						failed.Add(1)
						continue
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					acks[i] = time.Since(t0)
					if resp.StatusCode != http.StatusAccepted {
						failed.Add(1)
					}
				}
			}()
		}
		wg.Wait()
	}

	if o.Warmup > 0 {
		fire(0, o.Warmup)
		deadline := time.Now().Add(time.Duration(o.Warmup)*10*time.Millisecond + 60*time.Second)
		for int(delivered.Load()) < o.Warmup-int(failed.Load()) {
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("warm-up: only %d of %d runs delivered", delivered.Load(), o.Warmup)
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(5 * time.Millisecond):
			}
		}
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "bench: %s c=%d: %d warm-up runs done\n", o.Store, o.Concurrency, o.Warmup)
		}
	}
	warmDelivered, warmFailed := int(delivered.Load()), int(failed.Load())
	cpu0, _ := cpuTime(cmd.Process.Pid)
	start := time.Now()
	fire(o.Warmup, total)
	acceptedIn := time.Since(start)
	timeout := time.Duration(o.Events)*10*time.Millisecond + 60*time.Second
	select {
	case <-allDone:
	case <-time.After(timeout):
		res.PatchbayError = fmt.Sprintf("only %d of %d runs delivered within %s", int(delivered.Load())-warmDelivered, o.Events, timeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var last time.Time
	var e2e []time.Duration
	for i := o.Warmup; i < total; i++ {
		if done[i].IsZero() {
			continue
		}
		if done[i].After(last) {
			last = done[i]
		}
		e2e = append(e2e, done[i].Sub(sent[i]))
	}
	acks = acks[o.Warmup:]
	rss, _ := peakRSS(cmd.Process.Pid)
	cpu1, cpuErr := cpuTime(cmd.Process.Pid)
	res.Delivered = len(e2e)
	res.Failed = int(failed.Load()) - warmFailed
	res.AcceptedPerS = round(float64(o.Events) / acceptedIn.Seconds())
	if !last.IsZero() {
		res.RunsPerS = round(float64(res.Delivered) / last.Sub(start).Seconds())
		res.DurationS = round(last.Sub(start).Seconds())
	}
	res.AckP50MS, res.AckP99MS = percentile(acks, 50), percentile(acks, 99)
	res.E2EP50MS, res.E2EP99MS = percentile(e2e, 50), percentile(e2e, 99)
	res.PeakRSSMB = round(float64(rss) / 1024)
	if cpuErr == nil && res.Delivered > 0 {
		res.CPUMSPerRun = round(float64((cpu1 - cpu0).Microseconds()) / 1000 / float64(res.Delivered))
	}
	res.GoMaxProcs = os.Getenv("GOMAXPROCS")
	return res, nil
}

// assetEvent is an iconik-like asset webhook payload.
func assetEvent(i int) []byte {
	id := fmt.Sprintf("9b6c1f3e-0000-4000-8000-%012d", i)
	ev := map[string]any{
		"seq": i, "system_domain_id": "d3b07384-d9a7-4f3b-8a4e-2b1c0c0a0001", "object_type": "assets", "object_id": id,
		"realm": "entity", "operation": "update", "event_type": "assets", "user_id": "5f2b7c44-1111-4b8e-9c3d-000000000001",
		"date_created": "2026-11-22T10:00:00Z",
		"data": map[string]any{
			"id": id, "title": fmt.Sprintf("Campaign trailer %d", i), "status": "ACTIVE", "type": "ASSET",
			"date_modified": "2026-11-22T10:00:00Z", "is_online": true, "category": "video", "external_id": "",
			"created_by_user": "5f2b7c44-1111-4b8e-9c3d-000000000001", "archive_status": "NOT_ARCHIVED",
		},
	}
	b, _ := json.Marshal(ev)
	return b
}

func waitHealthy(ctx context.Context, base string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("patchbay did not become healthy at %s within %s", base, d)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// cpuTime reads the CPU time (user + system) a process has used (Linux;
// /proc counts in clock ticks, 100 per second).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: count fields after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("bad /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("bad /proc stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad /proc stat")
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// peakRSS reads a process's peak resident set size in KiB (Linux).
func peakRSS(pid int) (int64, error) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("VmHWM not found")
}

func percentile(ds []time.Duration, p float64) float64 {
	var xs []time.Duration
	for _, d := range ds {
		if d > 0 {
			xs = append(xs, d)
		}
	}
	if len(xs) == 0 {
		return 0
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
	idx := int(float64(len(xs)-1) * p / 100)
	return round(float64(xs[idx].Microseconds()) / 1000)
}

func round(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }
