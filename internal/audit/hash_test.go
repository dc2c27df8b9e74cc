package audit

import (
	"encoding/json"
	"testing"
	"time"
)

// TestHashGolden pins the entry hash's input format: a change to it would
// make every stored chain fail verification.
func TestHashGolden(t *testing.T) {
	e := &Entry{ID: "01JABCDEFGHJKMNPQRSTVWXYZ0", Shard: 3, Seq: 42, At: time.UnixMicro(1_700_000_000_123_456).UTC(), Kind: "write",
		Actor: "flow/f", Run: "R1", Step: "post", StepSeq: 2, Objects: []string{"iconik:asset/A", "run/R1", "é 漢字"},
		Summary: "update iconik:asset/A", Data: json.RawMessage(`{"op":"update"}`), Prev: "prevhash"}
	const want = "oJKV6Pm9ySLdKX8kIF8k5mWToXiMEFdQ94I8RLUhF2c"
	if got := e.computeHash(); got != want {
		t.Fatalf("hash %s, want %s", got, want)
	}
	e.Objects, e.Data, e.Prev, e.Actor, e.Summary = []string{}, nil, "", "", ""
	const wantEmpty = "R8WiWUBUMY0smnecK_7Ut-RZle03qnNRpdGYuwMexgg"
	if got := e.computeHash(); got != wantEmpty {
		t.Fatalf("hash of a bare entry %s, want %s", got, wantEmpty)
	}
}
