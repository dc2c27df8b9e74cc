package secret

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSealOpenAndWrongKey(t *testing.T) {
	t.Setenv(EnvKey, "")
	dir := t.TempDir()
	k1, err := Load(filepath.Join(dir, "a.key"), true)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := k1.Seal([]byte("hunter2"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("hunter2")) {
		t.Fatal("plaintext visible in sealed value")
	}
	got, err := k1.Open(sealed)
	if err != nil || string(got) != "hunter2" {
		t.Fatalf("open = %q, %v", got, err)
	}
	again, err := Load(filepath.Join(dir, "a.key"), false)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := again.Open(sealed); err != nil || string(got) != "hunter2" {
		t.Fatalf("reloaded key: %q, %v", got, err)
	}
	st, _ := os.Stat(filepath.Join(dir, "a.key"))
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", st.Mode().Perm())
	}
	k2, _ := Load(filepath.Join(dir, "b.key"), true)
	if _, err := k2.Open(sealed); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("wrong key: err = %v", err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := k1.Open(sealed); err == nil {
		t.Fatal("tampered value opened")
	}
	if _, err := Load(filepath.Join(dir, "missing.key"), false); err == nil {
		t.Fatal("missing key file accepted")
	}
}
