// Package connectortest is the conformance suite every connector package
// runs in its tests: the spec is well formed, the connection opens, actions
// honour context cancellation, errors carry kinds, secrets never appear in
// outputs, errors or logs, idempotency keys reach the provider, and webhook
// receivers reject deliveries that do not verify.
package connectortest

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/fault"
)

// Call is one action invocation the suite makes.
type Call struct {
	Action string
	Input  map[string]any
}

// Config describes the connector under test. Optional parts left empty
// skip the checks that need them (the test log says which).
type Config struct {
	Connector connector.Connector
	// Values are the connection settings, pointing at a sandbox.
	Values map[string]any
	// OK is an action expected to succeed (a read is best).
	OK *Call
	// NotFound is an action expected to fail with kind fault.NotFound.
	NotFound *Call
	// Invalid is an action whose provider rejects the input (kind Invalid).
	Invalid *Call
	// Write is an action that writes, used to check the idempotency key
	// reaches the provider: SawKey reports whether the provider received key.
	Write  *Call
	SawKey func(key string) bool
	// Webhook is a delivery that fails verification for Trigger.
	Trigger    string
	BadWebhook *connector.WebhookRequest
}

// Run runs the suite.
func Run(t *testing.T, cfg Config) {
	t.Helper()
	spec := cfg.Connector.Spec()
	t.Run("SpecWellFormed", func(t *testing.T) { checkSpec(t, spec) })

	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	values, err := connector.Prepare(spec.Connection, cfg.Values, false)
	if err != nil {
		t.Fatalf("connection settings do not fit the spec: %v", err)
	}
	conn, err := cfg.Connector.Open(context.Background(), connector.Config{Name: "conformance", Values: values, PublicURL: "http://127.0.0.1:1", Logger: logger})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer conn.Close()
	secrets := secretValues(spec, values)
	var seen []string // outputs and errors, checked for secrets at the end

	do := func(ctx context.Context, c *Call, key string) (*connector.Result, error) {
		as, ok := spec.Action(c.Action)
		if !ok {
			t.Fatalf("action %q not in the spec", c.Action)
		}
		in, err := connector.Prepare(as.Input, c.Input, false)
		if err != nil {
			t.Fatalf("%s: input does not fit the spec: %v", c.Action, err)
		}
		res, err := conn.Do(ctx, c.Action, &connector.Request{Input: in, IdempotencyKey: key, RunID: "run-conformance", StepID: "step", Logger: logger})
		if err != nil {
			seen = append(seen, err.Error())
		} else if res != nil {
			b, _ := json.Marshal(res)
			seen = append(seen, string(b))
		}
		return res, err
	}

	t.Run("UnknownActionIsInvalid", func(t *testing.T) {
		_, err := conn.Do(context.Background(), "no_such_action", &connector.Request{Input: map[string]any{}})
		if err == nil || fault.KindOf(err) != fault.Invalid {
			t.Fatalf("err = %v (kind %v), want kind invalid", err, fault.KindOf(err))
		}
	})
	t.Run("OKCallSucceeds", func(t *testing.T) {
		if cfg.OK == nil {
			t.Skip("no OK call given")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := do(ctx, cfg.OK, "pb-conformance-ok")
		if err != nil {
			t.Fatalf("%s: %v", cfg.OK.Action, err)
		}
		if res == nil {
			t.Fatalf("%s: nil result", cfg.OK.Action)
		}
		if _, err := json.Marshal(res.Output); err != nil {
			t.Fatalf("%s: output is not JSON-encodable: %v", cfg.OK.Action, err)
		}
	})
	t.Run("CancelledContextIsHonoured", func(t *testing.T) {
		if cfg.OK == nil {
			t.Skip("no OK call given")
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		start := time.Now()
		_, err := do(ctx, cfg.OK, "pb-conformance-cancel")
		if err == nil {
			t.Fatal("no error with a cancelled context")
		}
		if k := fault.KindOf(err); k != fault.Canceled {
			t.Errorf("kind = %v, want canceled", k)
		}
		if time.Since(start) > 2*time.Second {
			t.Errorf("took %v to notice the cancelled context", time.Since(start))
		}
	})
	t.Run("NotFoundHasKind", func(t *testing.T) {
		if cfg.NotFound == nil {
			t.Skip("no NotFound call given")
		}
		_, err := do(context.Background(), cfg.NotFound, "pb-conformance-nf")
		if fault.KindOf(err) != fault.NotFound {
			t.Fatalf("err = %v (kind %v), want kind not_found", err, fault.KindOf(err))
		}
	})
	t.Run("InvalidHasKind", func(t *testing.T) {
		if cfg.Invalid == nil {
			t.Skip("no Invalid call given")
		}
		_, err := do(context.Background(), cfg.Invalid, "pb-conformance-inv")
		if fault.KindOf(err) != fault.Invalid {
			t.Fatalf("err = %v (kind %v), want kind invalid", err, fault.KindOf(err))
		}
	})
	t.Run("IdempotencyKeyReachesProvider", func(t *testing.T) {
		if cfg.Write == nil || cfg.SawKey == nil {
			t.Skip("no Write call and SawKey check given (the provider takes no idempotency key)")
		}
		key := "pb-conformance-" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
		if _, err := do(context.Background(), cfg.Write, key); err != nil {
			t.Fatalf("%s: %v", cfg.Write.Action, err)
		}
		if !cfg.SawKey(key) {
			t.Fatalf("the provider did not receive idempotency key %s", key)
		}
	})
	t.Run("BadWebhookIsUnauthorized", func(t *testing.T) {
		if cfg.BadWebhook == nil {
			t.Skip("no bad webhook given")
		}
		recv, ok := conn.(connector.WebhookReceiver)
		if !ok {
			t.Fatal("connection does not receive webhooks")
		}
		_, err := recv.Receive(context.Background(), cfg.Trigger, cfg.BadWebhook)
		if fault.KindOf(err) != fault.Unauthorized {
			t.Fatalf("err = %v (kind %v), want kind unauthorized", err, fault.KindOf(err))
		}
		seen = append(seen, err.Error())
	})
	t.Run("SecretsNeverLeak", func(t *testing.T) {
		if len(secrets) == 0 {
			t.Skip("the connection has no secret settings")
		}
		logMu.Lock()
		seen = append(seen, logs.String())
		logMu.Unlock()
		for _, s := range seen {
			for _, sec := range secrets {
				if strings.Contains(s, sec) {
					t.Errorf("secret value %q…%q appears in an output, error or log line: %.200s", sec[:min(2, len(sec))], sec[max(0, len(sec)-2):], s)
				}
			}
		}
	})
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func secretValues(spec *connector.Spec, values map[string]any) []string {
	var out []string
	for _, f := range spec.Connection {
		if !f.Secret {
			continue
		}
		switch v := values[f.Name].(type) {
		case string:
			if len(v) >= 4 {
				out = append(out, v)
			}
		case map[string]any:
			for _, x := range v {
				if s, ok := x.(string); ok && len(s) >= 4 {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

func checkSpec(t *testing.T, s *connector.Spec) {
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	if s.Doc == "" {
		t.Error("connector has no doc")
	}
	for _, a := range s.Actions {
		for _, f := range a.Input {
			if f.Doc == "" && len(a.Input) > 3 {
				t.Errorf("action %s: input %s has no doc", a.Name, f.Name)
			}
		}
		for i, ex := range a.Examples {
			if ex.Input == nil {
				continue
			}
			if _, err := connector.Prepare(a.Input, ex.Input, false); err != nil {
				t.Errorf("action %s: example %d does not fit the input spec: %v", a.Name, i+1, err)
			}
		}
	}
	for _, tr := range s.Triggers {
		if len(tr.EventTypes) == 0 {
			t.Errorf("trigger %s lists no event types", tr.Name)
		}
	}
}
