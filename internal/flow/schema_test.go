package flow

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// TestSchemaGolden compares the schema generated from the test registry with
// testdata/schema.golden.json (run with -update to rewrite it).
func TestSchemaGolden(t *testing.T) {
	t.Parallel()
	got, err := Schema(testRegistry())
	if err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/schema.golden.json"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("schema differs from %s (run with -update to accept)", golden)
	}
}

// TestSchemaValidates checks flow files against the generated schema: the
// valid samples pass, and broken ones fail where the schema can tell.
func TestSchemaValidates(t *testing.T) {
	t.Parallel()
	b, err := Schema(testRegistry())
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("flow.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("flow.schema.json")
	if err != nil {
		t.Fatalf("compiling the generated schema: %v", err)
	}
	complexFlow, err := os.ReadFile("testdata/complex.yaml")
	if err != nil {
		t.Fatal(err)
	}
	valid, err := os.ReadFile("testdata/validate/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	schedule, err := os.ReadFile("testdata/validate/valid-schedule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := os.ReadFile("../../docs/flows.md")
	if err != nil {
		t.Fatal(err)
	}
	docExample, _, _ := strings.Cut(strings.SplitN(string(docs), "```yaml\n", 2)[1], "```")
	tests := []struct {
		name        string
		src         string
		errContains string
	}{
		{name: "docs example", src: docExample},
		{name: "complex flow", src: string(complexFlow)},
		{name: "webhook flow", src: string(valid)},
		{name: "schedule flow", src: string(schedule)},
		{
			name:        "unknown top-level key",
			src:         "name: x\ntrigger: {on: manual}\nsteps: [{fail: x}]\nstpes: []\n",
			errContains: "stpes",
		},
		{
			name:        "two kinds",
			src:         "name: x\ntrigger: {on: manual}\nsteps: [{fail: x, sleep: 1s}]\n",
			errContains: "oneOf",
		},
		{
			name:        "missing required input",
			src:         "name: x\ntrigger: {on: manual}\nsteps: [{action: core.log, input: {level: info}}]\n",
			errContains: "message",
		},
		{
			name:        "no input where one is required",
			src:         "name: x\ntrigger: {on: manual}\nsteps: [{action: core.log}]\n",
			errContains: "input",
		},
		{
			name:        "input of the wrong type",
			src:         "name: x\nconnections: {dam: iconik}\ntrigger: {on: manual}\nsteps: [{action: dam.update_metadata, input: {asset_id: x, fields: {}, count: many}}]\n",
			errContains: "count",
		},
		{
			name:        "unknown input",
			src:         "name: x\ntrigger: {on: manual}\nsteps: [{action: http.request, input: {url: u, verb: GET}}]\n",
			errContains: "verb",
		},
		{
			name:        "webhook without secret",
			src:         "name: x\ntrigger: {on: webhook, config: {verify: hmac}}\nsteps: [{fail: x}]\n",
			errContains: "secret_env",
		},
		{
			name:        "schedule without cron",
			src:         "name: x\ntrigger: {on: schedule}\nsteps: [{fail: x}]\n",
			errContains: "cron",
		},
		{
			name:        "then without if",
			src:         "name: x\ntrigger: {on: manual}\nsteps: [{fail: x, then: []}]\n",
			errContains: "then",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			inst := yamlToJSON(t, tt.src)
			err := sch.Validate(inst)
			switch {
			case tt.errContains == "" && err != nil:
				t.Fatalf("valid flow fails the schema: %v", err)
			case tt.errContains != "" && err == nil:
				t.Fatal("invalid flow passes the schema")
			case tt.errContains != "" && !strings.Contains(err.Error(), tt.errContains):
				t.Fatalf("error %q does not mention %q", err, tt.errContains)
			}
			if err != nil && testing.Verbose() {
				t.Log(err)
			}
		})
	}
}

// yamlToJSON decodes YAML the way an editor's YAML language server does and
// returns it as the schema validator's JSON value.
func yamlToJSON(t *testing.T, src string) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal([]byte(src), &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}
