// Package secret encrypts connection secrets at rest with AES-256-GCM. The
// key comes from PATCHBAY_SECRET_KEY (32 bytes, base64) or a key file; for an
// embedded (SQLite) data directory a key file is created on first use.
//
// Sealed values start with a one-byte format version and a 4-byte key id (the
// first bytes of the key's SHA-256), so a wrong key is reported as such
// rather than as corrupt data.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// EnvKey names the environment variable holding the key.
const EnvKey = "PATCHBAY_SECRET_KEY"

// Keyring seals and opens secrets.
type Keyring struct {
	aead cipher.AEAD
	id   [4]byte
}

// New returns a keyring for a 32-byte key.
func New(key []byte) (*Keyring, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secret key is %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	k := &Keyring{aead: aead}
	sum := sha256.Sum256(key)
	copy(k.id[:], sum[:4])
	return k, nil
}

// Load finds the key: the environment variable, else keyFile. When neither
// exists and create is true, a new key is written to keyFile (mode 0600).
func Load(keyFile string, create bool) (*Keyring, error) {
	if v := strings.TrimSpace(os.Getenv(EnvKey)); v != "" {
		key, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return nil, fmt.Errorf("decoding %s: want 32 bytes in base64: %w", EnvKey, err)
		}
		return New(key)
	}
	if keyFile == "" {
		return nil, fmt.Errorf("no secret key: set %s (32 bytes, base64)", EnvKey)
	}
	b, err := os.ReadFile(keyFile)
	if err == nil {
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("decoding key file %s: %w", keyFile, err)
		}
		return New(key)
	}
	if !errors.Is(err, os.ErrNotExist) || !create {
		return nil, fmt.Errorf("reading key file: %w (or set %s)", err, EnvKey)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(keyFile), 0o700); err != nil {
		return nil, fmt.Errorf("creating key file: %w", err)
	}
	f, err := os.OpenFile(keyFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return Load(keyFile, false)
		}
		return nil, fmt.Errorf("creating key file: %w", err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("writing key file: %w", err)
	}
	return New(key)
}

// Seal encrypts plaintext.
func (k *Keyring) Seal(plaintext []byte) ([]byte, error) {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := make([]byte, 0, 1+4+len(nonce)+len(plaintext)+k.aead.Overhead())
	out = append(out, 1)
	out = append(out, k.id[:]...)
	out = append(out, nonce...)
	return k.aead.Seal(out, nonce, plaintext, k.id[:]), nil
}

// ErrWrongKey means the value was sealed with another key.
var ErrWrongKey = errors.New("secret was sealed with a different key (check " + EnvKey + " or the key file)")

// Open decrypts a sealed value.
func (k *Keyring) Open(sealed []byte) ([]byte, error) {
	ns := k.aead.NonceSize()
	if len(sealed) < 1+4+ns || sealed[0] != 1 {
		return nil, errors.New("opening secret: not a sealed value")
	}
	if string(sealed[1:5]) != string(k.id[:]) {
		return nil, ErrWrongKey
	}
	nonce := sealed[5 : 5+ns]
	pt, err := k.aead.Open(nil, nonce, sealed[5+ns:], k.id[:])
	if err != nil {
		return nil, errors.New("opening secret: authentication failed (data corrupt or tampered)")
	}
	return pt, nil
}
