package flow

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad checks that no input makes Load panic, and that every problem has
// a code and a position. The seed corpus is the test data, so a plain go test
// runs it quickly.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/validate/*.yaml")
	files = append(files, "testdata/complex.yaml")
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	for _, src := range []string{
		"name: t\nconnections: {dam: iconik}\ntrigger: {on: dam.asset_events, config: {realms: \"${{ x\"}}\nsteps: [{fail: x}]\n",
		"name: t\ntrigger: {on: webhook, config: {verify: 1, header: 2}}\nsteps: [{fail: \"${{ steps.a }}\"}]\n",
		"name: t\ntrigger: {on: manual}\nsteps:\n  - fail: >\n      a ${{ x\n\n      b }}\n",
		"name: t\ntrigger: {on: manual}\nsteps:\n  - fail: \"a\\\n    ${{ x }}\"\n",
		"name: t\ntrigger: {on: manual}\nsteps:\n  - &s {switch: 1, cases: [{value: 1, steps: [*s]}]}\n",
	} {
		f.Add([]byte(src))
	}
	reg := testRegistry()
	f.Fuzz(func(t *testing.T, src []byte) {
		_, err := Load("f.yaml", src, reg)
		if err == nil {
			return
		}
		ps, ok := err.(Problems)
		if !ok || len(ps) == 0 {
			t.Fatalf("error is not Problems: %v", err)
		}
		for _, p := range ps {
			if p.Code == "" || p.Line < 1 || p.Col < 1 {
				t.Errorf("problem without code or position: %+v", p)
			}
		}
	})
}
