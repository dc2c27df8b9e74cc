package audit

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The stored form of entries is written by hand: it is built for every
// entry of every run, and encoding/json's reflection, sorted map keys and
// re-validation of raw data cost more than the rest of an append (see
// docs/benchmarks.md). Decoding stays encoding/json (stored).

// encodeStored is the entry's stored form without prev: the JSON object
// decodeEntries reads into stored. Strings must be valid UTF-8 and Data
// valid JSON (seal sees to both), so decoding gives back exactly the values
// that were hashed.
func (e *Entry) encodeStored() []byte {
	n := 96 + len(e.ID) + len(e.Kind) + len(e.Actor) + len(e.Run) + len(e.Step) + len(e.Summary) + len(e.Data)
	for _, o := range e.Objects {
		n += len(o) + 3
	}
	b := make([]byte, 0, n)
	b = append(b, `{"i":`...)
	b = appendString(b, e.ID)
	b = append(b, `,"t":`...)
	b = strconv.AppendInt(b, e.At.UnixMicro(), 10)
	b = append(b, `,"k":`...)
	b = appendString(b, e.Kind)
	if e.Actor != "" {
		b = append(b, `,"a":`...)
		b = appendString(b, e.Actor)
	}
	if e.Run != "" {
		b = append(b, `,"r":`...)
		b = appendString(b, e.Run)
	}
	if e.Step != "" {
		b = append(b, `,"s":`...)
		b = appendString(b, e.Step)
	}
	if e.StepSeq != 0 {
		b = append(b, `,"q":`...)
		b = strconv.AppendInt(b, int64(e.StepSeq), 10)
	}
	b = append(b, `,"o":[`...)
	for i, o := range e.Objects {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, o)
	}
	b = append(b, ']')
	if e.Summary != "" {
		b = append(b, `,"m":`...)
		b = appendString(b, e.Summary)
	}
	if len(e.Data) > 0 {
		b = append(b, `,"d":`...)
		b = append(b, e.Data...)
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. s must be valid UTF-8.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// validUTF8 replaces invalid bytes, as encoding/json would when storing.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// dataBuilder writes an entry's data object by hand, for the entries every
// run makes (event.received, run.ended); the others use capData.
type dataBuilder struct{ b []byte }

func (d *dataBuilder) key(k string) {
	if len(d.b) == 0 {
		d.b = append(d.b, '{')
	} else {
		d.b = append(d.b, ',')
	}
	d.b = appendString(d.b, k)
	d.b = append(d.b, ':')
}

// str adds k: v, v shortened to maxString.
func (d *dataBuilder) str(k, v string) {
	d.key(k)
	d.b = appendString(d.b, validUTF8(Truncate(v, maxString)))
}

// strIf adds k: v when v is not empty.
func (d *dataBuilder) strIf(k, v string) {
	if v != "" {
		d.str(k, v)
	}
}

func (d *dataBuilder) num(k string, n int64) {
	d.key(k)
	d.b = strconv.AppendInt(d.b, n, 10)
}

// strs adds k: [vs…].
func (d *dataBuilder) strs(k string, vs []string) {
	d.key(k)
	d.b = append(d.b, '[')
	for i, v := range vs {
		if i > 0 {
			d.b = append(d.b, ',')
		}
		d.b = appendString(d.b, validUTF8(Truncate(v, maxString)))
	}
	d.b = append(d.b, ']')
}

func (d *dataBuilder) done() json.RawMessage {
	if len(d.b) == 0 {
		return json.RawMessage(`{}`)
	}
	return append(d.b, '}')
}
