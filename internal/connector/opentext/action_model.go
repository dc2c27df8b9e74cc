package opentext

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/opentext/opentextapi"
	"github.com/patchbay/patchbay/internal/fault"
)

// The models patchbay's templates deploy. media_review.otwf is the same
// file as the sandbox's (a test keeps them equal).
//
//go:embed models/*.otwf
var modelFiles embed.FS

// BundledModel returns an embedded .otwf file by process key.
func BundledModel(key string) ([]byte, bool) {
	b, err := modelFiles.ReadFile("models/" + key + ".otwf")
	return b, err == nil
}

// BundledModels lists the embedded models' keys.
func BundledModels() []string {
	entries, _ := modelFiles.ReadDir("models")
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".otwf"))
	}
	sort.Strings(out)
	return out
}

var deployModelSpec = connector.ActionSpec{
	Name: "deploy_model", Title: "Deploy a process model", Writes: true, Idempotent: true,
	Doc: "Deploys a BPMN model as a new version of its process definition: a model bundled with patchbay (builtin: " +
		"media_review), a Thrust Studio .otwf file or bare modeler JSON (model), or BPMN 2.0 XML (model_xml). With " +
		"if_changed (the default) nothing is deployed when the latest version has the same content, so templates can " +
		"deploy on every install. New instances start on the latest version; running ones stay on theirs.",
	Input: []connector.Field{
		{Name: "builtin", Type: connector.String, Enum: []any{"media_review"}, Doc: "A model bundled with patchbay."},
		{Name: "model", Type: connector.Object, Open: true, Doc: "An .otwf file's JSON or bare Flowable modeler JSON."},
		{Name: "model_xml", Type: connector.String, Doc: "BPMN 2.0 XML."},
		{Name: "if_changed", Type: connector.Bool, Default: true, Doc: "Skip the deployment when the latest version has this content."},
	},
	Output: []connector.Field{
		{Name: "id", Type: connector.String, Doc: "Model (definition version) id."},
		{Name: "key", Type: connector.String, Doc: "Process definition key."},
		{Name: "name", Type: connector.String},
		{Name: "version", Type: connector.Int},
		{Name: "definition_id", Type: connector.String, Doc: "key:version:id, for start_process definition_id."},
		{Name: "deployed", Type: connector.Bool, Doc: "False when the latest version already had this content."},
	},
	Examples: []connector.Example{{
		Title:  "Deploy the media review model (template setup)",
		Input:  map[string]any{"builtin": "media_review"},
		Output: map[string]any{"key": "media_review", "version": 1, "deployed": true},
	}},
}

var xmlProcessID = regexp.MustCompile(`<(?:[A-Za-z0-9_]+:)?process\b[^>]*\bid="([^"]+)"`)

// modelSource is a model ready to deploy.
type modelSource struct {
	typ     string          // json or xml
	content json.RawMessage // modeler JSON, or a JSON string of XML
	key     string
}

func parseModel(in map[string]any) (*modelSource, error) {
	builtin, xml := str(in, "builtin"), str(in, "model_xml")
	model, hasModel := in["model"].(map[string]any)
	n := 0
	for _, ok := range []bool{builtin != "", xml != "", hasModel} {
		if ok {
			n++
		}
	}
	if n != 1 {
		return nil, fault.Errorf(fault.Invalid, "opentext.deploy_model: give exactly one of builtin, model and model_xml")
	}
	if xml != "" {
		m := xmlProcessID.FindStringSubmatch(xml)
		if m == nil {
			return nil, fault.Errorf(fault.Invalid, "opentext.deploy_model: model_xml has no <process id=…>")
		}
		b, _ := json.Marshal(xml)
		return &modelSource{typ: "xml", content: b, key: m[1]}, nil
	}
	var raw []byte
	if builtin != "" {
		b, ok := BundledModel(builtin)
		if !ok {
			return nil, fault.Errorf(fault.Invalid, "opentext.deploy_model: no bundled model %q (have %v)", builtin, BundledModels())
		}
		raw = b
	} else {
		b, err := json.Marshal(model)
		if err != nil {
			return nil, fault.E(fault.Invalid, "opentext.deploy_model: encoding model", err)
		}
		raw = b
	}
	return modelerJSON(raw)
}

// modelerJSON takes an .otwf file or bare modeler JSON and returns the
// modeler JSON with its process key.
func modelerJSON(raw []byte) (*modelSource, error) {
	var probe struct {
		Data        json.RawMessage `json:"data"`
		ChildShapes json.RawMessage `json:"childShapes"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fault.E(fault.Invalid, "opentext.deploy_model: decoding model", err)
	}
	data := json.RawMessage(raw)
	if len(probe.ChildShapes) == 0 && len(probe.Data) > 0 {
		data = probe.Data
	}
	var props struct {
		Properties struct {
			ProcessID string `json:"process_id"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(data, &props); err != nil || props.Properties.ProcessID == "" {
		return nil, fault.Errorf(fault.Invalid, "opentext.deploy_model: the model has no properties.process_id")
	}
	return &modelSource{typ: "json", content: data, key: props.Properties.ProcessID}, nil
}

// sameContent compares deployed content with what would be deployed.
func sameContent(typ string, deployed, want json.RawMessage) bool {
	if len(deployed) == 0 {
		return false
	}
	var a, b any
	if json.Unmarshal(deployed, &a) != nil || json.Unmarshal(want, &b) != nil {
		return false
	}
	if typ == "xml" {
		as, _ := a.(string)
		bs, _ := b.(string)
		return strings.TrimSpace(as) == strings.TrimSpace(bs)
	}
	if s, ok := a.(string); ok { // modeler JSON returned as a string
		if json.Unmarshal([]byte(s), &a) != nil {
			return false
		}
	}
	return reflect.DeepEqual(a, b)
}

func (c *Conn) deployModel(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	src, err := parseModel(req.Input)
	if err != nil {
		return nil, err
	}
	out, deployed, err := c.deploy(ctx, src, boolIn(req.Input, "if_changed", true), false)
	if err != nil {
		return nil, err
	}
	res := &connector.Result{Output: out}
	if deployed {
		res.Writes = []connector.Write{{Object: "opentext:model/" + src.key, Op: "deploy", Version: strconv.Itoa(intIn(out, "version", 0)),
			Hash: contentHash(src.content), Summary: map[string]any{"key": src.key, "version": out["version"]}}}
	}
	return res, nil
}

// deploy deploys src unless ifChanged and the latest version has its
// content; dryRun only reports.
func (c *Conn) deploy(ctx context.Context, src *modelSource, ifChanged, dryRun bool) (map[string]any, bool, error) {
	if ifChanged || dryRun {
		page, err := c.api.ListModels(ctx, opentextapi.ModelQuery{Key: src.key, LatestVersion: true, ModelType: src.typ, Paging: opentextapi.Paging{Count: 1}})
		if err != nil {
			return nil, false, err
		}
		if len(page.Items) > 0 {
			m := &page.Items[0]
			if ifChanged && sameContent(src.typ, m.ModelContent, src.content) {
				return modelOutput(m, false), false, nil
			}
			if dryRun {
				return map[string]any{"key": src.key, "version": m.Version + 1, "deployed": false}, true, nil
			}
		} else if dryRun {
			return map[string]any{"key": src.key, "version": 1, "deployed": false}, true, nil
		}
	}
	m, err := c.api.DeployModel(ctx, opentextapi.DeployRequest{ModelType: src.typ, ModelContent: bytes.TrimSpace(src.content)})
	if err != nil {
		return nil, false, err
	}
	if m.Key == "" {
		m.Key = src.key
	}
	return modelOutput(m, true), true, nil
}

func modelOutput(m *opentextapi.Model, deployed bool) map[string]any {
	return map[string]any{"id": m.ID, "key": m.Key, "name": m.Name, "version": m.Version,
		"definition_id": fmt.Sprintf("%s:%d:%s", m.Key, m.Version, m.ID), "deployed": deployed}
}
