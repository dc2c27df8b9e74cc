package cli_test

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestTemplateLsShowInstall(t *testing.T) {
	data := t.TempDir()
	code, out, _ := run(t, "template", "ls", "--json")
	var list []struct {
		Name  string            `json:"name"`
		Roles map[string]string `json:"roles"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) < 2 {
		t.Fatalf("ls --json: code %d out %s", code, out)
	}
	if code, out, _ := run(t, "template", "ls"); code != 0 || !strings.Contains(out, "uc08-approved-video-to-contentstack") || !strings.Contains(out, "cms=contentstack") {
		t.Fatalf("ls: code %d out %s", code, out)
	}
	if code, out, _ := run(t, "template", "show", "uc01-media-review-approval"); code != 0 || !strings.HasPrefix(out, "# UC1") {
		t.Fatalf("show: code %d out %.80s", code, out)
	}
	if code, _, errs := run(t, "template", "show", "nope"); code != 1 || !strings.Contains(errs, `no template "nope"`) {
		t.Fatalf("show nope: code %d stderr %s", code, errs)
	}
	for _, c := range [][]string{
		{"iconik", "--connector", "iconik", "--set", "app_id=a", "--set", "auth_token=b"},
		{"acme-cms", "--connector", "contentstack", "--set", "api_key=k", "--set", "management_token=m"},
	} {
		if code, out, errs := run(t, append([]string{"--data", data, "connection", "add"}, c...)...); code != 0 {
			t.Fatalf("connection add: %d %s %s", code, out, errs)
		}
	}
	code, out, errs := run(t, "--data", data, "template", "install", "uc08-approved-video-to-contentstack",
		"--param", "environments=[staging, production]", "--param", "gate_timeout=2d", "--connection", "cms=acme-cms")
	if code != 0 || !strings.Contains(out, "installed: flow uc08-approved-video-to-contentstack version 1") {
		t.Fatalf("install: code %d out %s err %s", code, out, errs)
	}
	code, out, _ = run(t, "--data", data, "flow", "show", "uc08-approved-video-to-contentstack")
	if code != 0 || !strings.Contains(out, `"acme-cms"`) || !strings.Contains(out, `["staging","production"]`) {
		t.Fatalf("the installed flow lacks the settings: %s", out)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--param", "colour=red"}, 1, `unknown parameter "colour"`},
		{[]string{"--connection", "ot=x"}, 1, `unknown role "ot"`},
		{[]string{"--param", "gate_timeout=soon"}, 1, "parameter gate_timeout (duration)"},
		{[]string{"--param", "novalue"}, 2, "want NAME=VALUE"},
	} {
		args := append([]string{"--data", data, "template", "install", "uc08-approved-video-to-contentstack"}, tc.args...)
		if code, _, errs := run(t, args...); code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: code %d stderr %q, want %d and %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
}
