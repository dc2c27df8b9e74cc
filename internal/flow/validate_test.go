package flow

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestValidateGolden loads every testdata/validate/<case>.yaml against the
// test registry and compares the problems (or "ok") with <case>.golden.
// Run with -update to rewrite the golden files.
func TestValidateGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/validate/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test cases: %v", err)
	}
	reg := testRegistry()
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got := "ok\n"
			if _, err := Load(filepath.Base(file), src, reg); err != nil {
				got = err.Error() + "\n"
			}
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("reading golden file (run with -update to create it): %v", err)
			}
			if got != string(want) {
				t.Errorf("problems differ from %s (run with -update to accept)\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

// TestGoldenCoversEveryCode checks that the codes in docs/flows.md are the
// package's codes, and that some golden file shows each of them.
func TestGoldenCoversEveryCode(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/flows.md")
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z-]+)` \\| ").FindAllSubmatch(doc, -1) {
		if code := string(m[1]); strings.Contains(code, "-") {
			documented = append(documented, code)
		}
	}
	if !slices.Equal(documented, Codes) {
		t.Errorf("docs/flows.md lists codes\n%v\nthe package has\n%v", documented, Codes)
	}
	goldens, _ := filepath.Glob("testdata/validate/*.golden")
	var all strings.Builder
	for _, g := range goldens {
		b, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	for _, code := range Codes {
		if !strings.Contains(all.String(), "error["+code+"]") {
			t.Errorf("no golden file shows %s", code)
		}
	}
}
