// Package id makes identifiers for runs, events and other records: 26
// characters of Crockford base32, the first ten encoding the millisecond they
// were made, so ids sort by creation time, and the rest random.
package id

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

var (
	mu       sync.Mutex
	lastMS   uint64
	lastRand [10]byte
)

// New returns a new id. Ids made in the same millisecond by this process
// still sort in the order they were made.
func New() string { return NewAt(time.Now()) }

// NewAt returns a new id for time t.
func NewAt(t time.Time) string {
	ms := uint64(t.UnixMilli())
	mu.Lock()
	var r [10]byte
	if ms <= lastMS {
		ms = lastMS
		r = lastRand
		increment(&r)
	} else {
		_, _ = rand.Read(r[:])
	}
	lastMS, lastRand = ms, r
	mu.Unlock()

	var out [26]byte
	putTime(&out, ms)
	// 80 random bits in 16 characters.
	hi := binary.BigEndian.Uint16(r[0:2])
	lo := binary.BigEndian.Uint64(r[2:10])
	for i := 25; i >= 10; i-- {
		out[i] = alphabet[lo&31]
		lo = lo>>5 | uint64(hi&31)<<59
		hi >>= 5
	}
	return string(out[:])
}

// putTime writes 48 bits of milliseconds in 10 characters (the top two bits
// are zero).
func putTime(out *[26]byte, ms uint64) {
	for i := 9; i >= 0; i-- {
		out[i] = alphabet[ms&31]
		ms >>= 5
	}
}

// Floor returns the smallest id made at or after t: for range queries on
// time-ordered ids.
func Floor(t time.Time) string {
	var out [26]byte
	putTime(&out, uint64(t.UnixMilli()))
	for i := 10; i < 26; i++ {
		out[i] = '0'
	}
	return string(out[:])
}

func increment(r *[10]byte) {
	for i := len(r) - 1; i >= 0; i-- {
		r[i]++
		if r[i] != 0 {
			return
		}
	}
}

// Valid reports whether s has the shape of an id.
func Valid(s string) bool {
	if len(s) != 26 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') || c == 'I' || c == 'L' || c == 'O' || c == 'U' {
			return false
		}
	}
	return true
}
