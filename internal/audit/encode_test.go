package audit

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
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

// TestDataBuilder: the hand-written data of the per-run entries is what
// encoding/json writes for the same map (keys in order), for any strings.
func TestDataBuilder(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\`, "ctl\x01\n", "é漢🎬", "<a&b>"} {
		var d dataBuilder
		d.str("event_id", "E"+s)
		d.num("resumed", 2)
		d.strs("runs", []string{"R1", s})
		d.str("type", s)
		got := d.done()
		want, _ := json.Marshal(map[string]any{"event_id": "E" + s, "resumed": 2, "runs": []string{"R1", s}, "type": s})
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("%q: %s does not decode: %v", s, got, err)
		}
		_ = json.Unmarshal(want, &w)
		gb, _ := json.Marshal(g)
		wb, _ := json.Marshal(w)
		if string(gb) != string(wb) {
			t.Errorf("%q: built %s, encoding/json %s", s, got, want)
		}
	}
	var empty dataBuilder
	if string(empty.done()) != "{}" {
		t.Errorf("empty data = %s", empty.done())
	}
}
