package audit

import (
	"encoding/json"
	"math"
	"slices"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzEncodeStored: the hand-written stored form decodes (with
// encoding/json) to exactly the sealed entry's fields, whatever the strings
// hold, so the hash computed at append time matches the one verify
// recomputes from storage.
func FuzzEncodeStored(f *testing.F) {
	for _, s := range []string{"", "plain", `quote " and \ backslash`, "ctl \x00\x01\x1f\n\r\t", "bad utf8 \xff\xfe", "é ü 漢字 \u2028 \u2029 <>&", "emoji 🎬"} {
		f.Add(s, s+"!", `{"k":"`+s+`"}`)
	}
	f.Fuzz(func(t *testing.T, a, b, data string) {
		e := &Entry{ID: "01J" + a, At: time.UnixMicro(1_700_000_000_123_456), Kind: "k" + b, Actor: a, Run: b, Step: a + b, StepSeq: len(a),
			Objects: []string{a, "run/" + b}, Summary: a + "\n" + b, Data: json.RawMessage(data)}
		e.seal()
		var s stored
		if err := json.Unmarshal(e.enc, &s); err != nil {
			t.Fatalf("stored form %q does not decode: %v", e.enc, err)
		}
		got := Entry{ID: s.ID, At: time.UnixMicro(s.At).UTC(), Kind: s.Kind, Actor: s.Actor, Run: s.Run, Step: s.Step, StepSeq: s.StepSeq,
			Objects: s.Objects, Summary: s.Summary, Data: s.Data}
		if got.ID != e.ID || !got.At.Equal(e.At) || got.Kind != e.Kind || got.Actor != e.Actor || got.Run != e.Run || got.Step != e.Step ||
			got.StepSeq != e.StepSeq || !slices.Equal(got.Objects, e.Objects) || got.Summary != e.Summary || string(got.Data) != string(e.Data) {
			t.Fatalf("round trip changed the entry:\nsealed %+v\nstored %s\nread   %+v", e, e.enc, got)
		}
		if got.computeHash() != e.computeHash() {
			t.Fatal("hash of the entry read back differs")
		}
	})
}

// TestEncodeData: entries' data written by hand says what encoding/json
// says for the same map (same keys in the same order, same values), for
// any strings and the value types entries hold.
func TestEncodeData(t *testing.T) {
	type named string
	for _, s := range []string{"", "plain", `q"b\`, "ctl\x01\n", "é漢🎬", "<a&b>", "\u2028"} {
		data := map[string]any{"event_id": "E" + s, "resumed": 2, "n64": int64(-7), "f": 2.5, "whole": float64(3), "ok": true, "none": nil,
			"runs": []string{"R1", s}, "list": []any{s, 1.0, map[string]any{"k": s}}, "type": s, "raw": json.RawMessage(` {"r": [1, "x"]} `),
			"named": named(s), "nested": map[string]any{"z": s, "a": []any{}}}
		got, err := encodeData(data)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(data)
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("%q: %s does not decode: %v", s, got, err)
		}
		_ = json.Unmarshal(want, &w)
		gb, _ := json.Marshal(g)
		wb, _ := json.Marshal(w)
		if string(gb) != string(wb) {
			t.Errorf("%q:\nby hand       %s\nencoding/json %s", s, got, want)
		}
	}
	if _, err := encodeData(map[string]any{"bad": math.NaN()}); err == nil {
		t.Error("NaN encoded without an error")
	}
	if b, _ := encodeData(map[string]any{"s": "bad \xff utf8"}); !json.Valid(b) || !utf8.Valid(b) {
		t.Errorf("invalid UTF-8 stored as %q", b)
	}
}
