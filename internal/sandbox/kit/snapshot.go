package kit

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// SaveJSON writes v to path atomically (write to a temp file, then rename).
func SaveJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding snapshot: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".snapshot-*")
	if err != nil {
		return fmt.Errorf("writing snapshot: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("writing snapshot: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing snapshot: %w", err)
	}
	return os.Rename(tmp.Name(), path)
}

// LoadJSON reads path into v. A missing file is not an error: it reports false.
func LoadJSON(path string, v any) (bool, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading snapshot: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("decoding snapshot %s: %w", path, err)
	}
	return true, nil
}

// Snapshots writes one sandbox's snapshot file, and skips a write when the
// state is what it last wrote (the sandboxes save every few seconds, so a
// crash loses little, and an idle sandbox writes nothing).
type Snapshots struct {
	Path string

	mu   sync.Mutex
	last [sha256.Size]byte
}

// Save writes v to Path unless state (the part of v that changes, as
// JSON) is what the last Save wrote and the file is still there. It reports
// whether it wrote.
func (s *Snapshots) Save(v any, state []byte) (bool, error) {
	if s.Path == "" {
		return false, errors.New("saving snapshot: no snapshot path configured")
	}
	sum := sha256.Sum256(state)
	s.mu.Lock()
	defer s.mu.Unlock()
	if sum == s.last {
		if _, err := os.Stat(s.Path); err == nil {
			return false, nil
		}
	}
	if err := SaveJSON(s.Path, v); err != nil {
		return false, err
	}
	s.last = sum
	return true, nil
}
