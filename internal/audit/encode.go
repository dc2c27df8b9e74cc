package audit

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The stored form of entries and their data are written by hand: they are
// built for every entry of every run, and encoding/json's reflection, sorted
// map keys and re-validation of raw data cost more than the rest of an
// append (see docs/benchmarks.md). Decoding stays encoding/json (stored).

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

// encodeObjects writes a block's objects column: a JSON list of strings
// (valid UTF-8, as seal leaves them).
func encodeObjects(objects []string) []byte {
	n := 2
	for _, o := range objects {
		n += len(o) + 3
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, o := range objects {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, o)
	}
	return append(b, ']')
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

// encodeData writes data as a JSON object, keys sorted (as encoding/json
// writes maps), by hand for the values entries hold (strings, numbers,
// booleans, string lists, nested maps, raw JSON) and through encoding/json
// for anything else.
func encodeData(data map[string]any) ([]byte, error) {
	return appendValue(make([]byte, 0, 64+32*len(data)), data)
}

func appendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendString(b, validUTF8(x)), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.AppendInt(b, int64(x), 10), nil
		}
	case json.RawMessage:
		if json.Valid(x) {
			return append(b, bytes.Trim(x, " \t\r\n")...), nil
		}
	case []string:
		b = append(b, '[')
		for i, s := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, validUTF8(s))
		}
		return append(b, ']'), nil
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		b = append(b, '{')
		var small [8]string // entries' data maps are small: keys sorted without allocating
		keys := small[:0]
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, validUTF8(k))
			b = append(b, ':')
			var err error
			if b, err = appendValue(b, x[k]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	}
	enc, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, enc...), nil
}
