package contentstack

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// PublicKeyPath is where the signing key is served, relative to the sandbox
// URL. The real one is https://<region app host>/.well-known/public-keys.json
// (for NA https://app.contentstack.com/.well-known/public-keys.json).
const PublicKeyPath = "/.well-known/public-keys.json"

// pssOptions are the documented signature parameters: RSA-PSS, SHA-256,
// MGF1-SHA256, salt length 32.
var pssOptions = &rsa.PSSOptions{SaltLength: 32, Hash: crypto.SHA256}

func privateKeyPEM(k *rsa.PrivateKey) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

func parsePrivateKeyPEM(s string) (*rsa.PrivateKey, error) {
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		return nil, errors.New("no PEM block")
	}
	k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing PKCS#1 key: %w", err)
	}
	return k, nil
}

// PublicKey returns the key webhook signatures verify with.
func (s *Server) PublicKey() *rsa.PublicKey { return &s.key.PublicKey }

// PublicKeyPEM returns the public key as served: PKCS#1 PEM
// ("-----BEGIN RSA PUBLIC KEY-----").
func (s *Server) PublicKeyPEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&s.key.PublicKey)}))
}

// servePublicKey answers GET /.well-known/public-keys.json with
// {"signing-key": "<PKCS#1 PEM>"}; it needs no credentials.
func (s *Server) servePublicKey(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"signing-key": s.PublicKeyPEM()})
}

// sign returns the X-Contentstack-Request-Signature value for body:
// "v1=" + base64(RSA-PSS-SHA256(body)).
func (s *Server) sign(body []byte) (string, error) {
	sum := sha256.Sum256(body)
	sig, err := rsa.SignPSS(rand.Reader, s.key, crypto.SHA256, sum[:], pssOptions)
	if err != nil {
		return "", fmt.Errorf("signing webhook body: %w", err)
	}
	return "v1=" + base64.StdEncoding.EncodeToString(sig), nil
}

// legacySignature fills the undocumented X-Contentstack-Signature header
// (40 hex digits in the documented executions sample); receivers must not
// rely on it. The sandbox uses HMAC-SHA1 of the body keyed by the webhook uid.
func legacySignature(webhookUID string, body []byte) string {
	m := hmac.New(sha1.New, []byte(webhookUID))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// hmacSignature is the x-contentstack-hmac-signature value:
// t=<unix>,v1=<hex HMAC-SHA256 of "t.body"> for each secret.
func hmacSignature(secrets []string, unix int64, body []byte) string {
	t := strconv.FormatInt(unix, 10)
	parts := []string{"t=" + t}
	for _, sec := range secrets {
		m := hmac.New(sha256.New, []byte(sec))
		m.Write([]byte(t + "."))
		m.Write(body)
		parts = append(parts, "v1="+hex.EncodeToString(m.Sum(nil)))
	}
	return strings.Join(parts, ",")
}
