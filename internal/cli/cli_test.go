package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchbay/patchbay/internal/cli"
	_ "github.com/patchbay/patchbay/internal/connector/all"
)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

const goodFlow = `name: cli-flow
trigger: { on: manual }
steps:
  - id: hello
    action: core.log
    input: { message: hi }
`

const badFlow = `name: Bad Name
trigger: { on: manual }
steps:
  - id: a
    action: core.nope
  - id: a
    set: { x: "${{ steps.zzz.output }}" }
`

func TestFlowValidateExitCodesAndLocatedMessages(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(good, []byte(goodFlow), 0o600)
	os.WriteFile(bad, []byte(badFlow), 0o600)

	if code, out, _ := run(t, "flow", "validate", good); code != 0 || !strings.Contains(out, "good.yaml: ok") {
		t.Fatalf("good: code %d, out %q", code, out)
	}
	code, out, _ := run(t, "flow", "validate", good, bad)
	if code != 1 {
		t.Fatalf("bad: exit %d, want 1", code)
	}
	for _, want := range []string{"bad.yaml:1:7: error[bad-name]", "error[unknown-action]", "error[duplicate-step-id]", "error[unknown-step-ref]", "hint:"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = run(t, "--json", "flow", "validate", bad)
	var rep []map[string]any
	if code != 1 || json.Unmarshal([]byte(out), &rep) != nil || rep[0]["ok"] != false {
		t.Fatalf("--json: code %d out %s", code, out)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	if code, _, errs := run(t, "flow", "validate"); code != 2 || !strings.Contains(errs, "requires at least 1 arg") {
		t.Fatalf("code %d, stderr %q", code, errs)
	}
	if code, _, _ := run(t, "nope"); code != 2 {
		t.Fatalf("unknown command: exit %d", code)
	}
}

func TestConnectorLsJSON(t *testing.T) {
	code, out, _ := run(t, "connector", "ls", "--json")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var specs []struct {
		Name     string `json:"name"`
		Triggers []struct {
			Name string `json:"name"`
		} `json:"triggers"`
		Actions []struct {
			Name  string `json:"name"`
			Input []any  `json:"input"`
		} `json:"actions"`
	}
	if err := json.Unmarshal([]byte(out), &specs); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, s := range specs {
		names[s.Name] = true
		if len(s.Actions) == 0 {
			t.Errorf("connector %s lists no actions", s.Name)
		}
	}
	for _, want := range []string{"core", "http", "iconik", "contentstack", "opentext"} {
		if !names[want] {
			t.Errorf("connector ls lacks %s", want)
		}
	}
}

func TestApplyRunLifecycleThroughCLI(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	f := filepath.Join(dir, "f.yaml")
	os.WriteFile(f, []byte(goodFlow), 0o600)
	if code, out, errs := run(t, "--data", data, "flow", "apply", f); code != 0 || !strings.Contains(out, "applied as version 1") {
		t.Fatalf("apply: %d %q %q", code, out, errs)
	}
	if code, out, _ := run(t, "--data", data, "flow", "apply", f); code != 0 || !strings.Contains(out, "unchanged") {
		t.Fatalf("re-apply: %d %q", code, out)
	}
	code, out, _ := run(t, "--data", data, "--json", "run", "start", "cli-flow")
	var started map[string]string
	if code != 0 || json.Unmarshal([]byte(out), &started) != nil || started["run_id"] == "" {
		t.Fatalf("start: %d %q", code, out)
	}
	// No worker runs in this test: the run stays queued and can be cancelled.
	if code, out, _ := run(t, "--data", data, "run", "ls", "--status", "queued"); code != 0 || !strings.Contains(out, started["run_id"]) {
		t.Fatalf("run ls: %d %q", code, out)
	}
	if code, _, _ := run(t, "--data", data, "run", "cancel", started["run_id"]); code != 0 {
		t.Fatalf("cancel: exit %d", code)
	}
	if code, out, _ := run(t, "--data", data, "run", "show", started["run_id"]); code != 0 || !strings.Contains(out, "cancelled") {
		t.Fatalf("show: %d %q", code, out)
	}
	if code, _, errs := run(t, "--data", data, "run", "show", "NOPE"); code != 1 || !strings.Contains(errs, "no run NOPE") {
		t.Fatalf("show missing: %d %q", code, errs)
	}
	if code, _, errs := run(t, "--data", data, "connection", "add", "x", "--connector", "nope"); code != 1 || !strings.Contains(errs, "unknown connector") {
		t.Fatalf("bad connector: %d %q", code, errs)
	}
	if code, _, _ := run(t, "--data", data, "connection", "add", "h", "--connector", "http", "--secret", "webhook_secret=topsecret"); code != 0 {
		t.Fatal("connection add failed")
	}
	if code, out, _ := run(t, "--data", data, "connection", "show", "h"); code != 0 || strings.Contains(out, "topsecret") || !strings.Contains(out, "***") {
		t.Fatalf("connection show leaks or fails: %d %q", code, out)
	}
}
