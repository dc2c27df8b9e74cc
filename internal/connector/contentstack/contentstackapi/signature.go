package contentstackapi

import (
	"bytes"
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/patchbay/patchbay/internal/fault"
)

// Webhook signature headers (documented on "Secure your webhooks").
const (
	SignatureHeader     = "X-Contentstack-Request-Signature"
	HMACSignatureHeader = "X-Contentstack-Hmac-Signature"
	// PublicKeyPath is where the signing key is served on a region's app host.
	PublicKeyPath = "/.well-known/public-keys.json"
)

// pss are the documented signature parameters: RSA-PSS, SHA-256,
// MGF1-SHA256, salt length 32 (plain PKCS#1 v1.5 does not verify).
var pss = &rsa.PSSOptions{SaltLength: 32, Hash: crypto.SHA256}

// PublicKey fetches the webhook signing key from the app host
// ({"signing-key": "-----BEGIN RSA PUBLIC KEY-----…"}). It needs no credentials.
func (c *Client) PublicKey(ctx context.Context) (*rsa.PublicKey, error) {
	if c.app == "" {
		return nil, fault.Errorf(fault.Invalid, "contentstack: no app host configured to fetch the webhook signing key from")
	}
	var resp map[string]any
	if _, err := c.plain.JSON(ctx, http.MethodGet, c.app+PublicKeyPath, nil, nil, &resp); err != nil {
		if fault.KindOf(err) == fault.Canceled {
			return nil, err
		}
		// Whatever went wrong, the delivery could not be checked: the
		// provider should try again later.
		return nil, &fault.Error{Kind: fault.Transient, Op: "contentstack: fetching the webhook signing key", Err: err}
	}
	pemText, _ := resp["signing-key"].(string)
	if pemText == "" {
		for _, v := range resp { // tolerate another key name
			if s, ok := v.(string); ok && strings.Contains(s, "PUBLIC KEY") {
				pemText = s
			}
		}
	}
	k, err := ParsePublicKey(pemText)
	if err != nil {
		return nil, fault.E(fault.Transient, "contentstack: reading the webhook signing key", err)
	}
	return k, nil
}

// ParsePublicKey reads a PKCS#1 ("RSA PUBLIC KEY") or PKIX ("PUBLIC KEY") PEM block.
func ParsePublicKey(pemText string) (*rsa.PublicKey, error) {
	b, _ := pem.Decode([]byte(pemText))
	if b == nil {
		return nil, errors.New("no PEM block")
	}
	if k, err := x509.ParsePKCS1PublicKey(b.Bytes); err == nil {
		return k, nil
	}
	pub, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing public key: %w", err)
	}
	k, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("signing key is a %T, want RSA", pub)
	}
	return k, nil
}

// ErrBadSignature is returned (wrapped, kind Unauthorized) when a
// signature is present but does not verify.
var ErrBadSignature = errors.New("signature does not verify")

// VerifySignature checks X-Contentstack-Request-Signature ("v1=<base64>";
// the part before the first comma, after the "=") over the raw body, and
// falls back to the body re-serialised compactly (the documented Node
// example verifies JSON.stringify of the parsed body). Failures have kind
// Unauthorized.
func VerifySignature(pub *rsa.PublicKey, header string, body []byte) error {
	header = strings.TrimSpace(header)
	if header == "" {
		return fault.Errorf(fault.Unauthorized, "missing %s header", SignatureHeader)
	}
	v := header
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	if i := strings.IndexByte(v, '='); i >= 0 && i < 4 { // "v1=" (base64 itself may end in '=')
		v = v[i+1:]
	}
	sig, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		if sig, err = base64.RawStdEncoding.DecodeString(v); err != nil {
			return fault.Errorf(fault.Unauthorized, "%s is not base64", SignatureHeader)
		}
	}
	if verifyPSS(pub, body, sig) {
		return nil
	}
	var compact bytes.Buffer
	if json.Compact(&compact, body) == nil && !bytes.Equal(compact.Bytes(), body) && verifyPSS(pub, compact.Bytes(), sig) {
		return nil
	}
	return fault.E(fault.Unauthorized, SignatureHeader, ErrBadSignature)
}

func verifyPSS(pub *rsa.PublicKey, msg, sig []byte) bool {
	sum := sha256.Sum256(msg)
	return rsa.VerifyPSS(pub, crypto.SHA256, sum[:], sig, pss) == nil
}

// VerifyHMAC checks x-contentstack-hmac-signature ("t=<unix>,v1=<hex>[,v1=<hex>]"):
// the HMAC-SHA256 hex of "<t>.<raw body>" under any of secrets must match
// any v1 (two are sent while a key rotates). When maxAge > 0, t must be
// within maxAge of now (replay protection). Failures have kind Unauthorized.
func VerifyHMAC(secrets []string, header string, body []byte, now time.Time, maxAge time.Duration) error {
	if strings.TrimSpace(header) == "" {
		return fault.Errorf(fault.Unauthorized, "missing %s header", HMACSignatureHeader)
	}
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	if ts == "" || len(sigs) == 0 {
		return fault.Errorf(fault.Unauthorized, "%s has no t= or v1= part", HMACSignatureHeader)
	}
	if maxAge > 0 {
		unix, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return fault.Errorf(fault.Unauthorized, "%s: t is not a unix time", HMACSignatureHeader)
		}
		if age := now.Sub(time.Unix(unix, 0)); age > maxAge || age < -maxAge {
			return fault.Errorf(fault.Unauthorized, "%s: timestamp %s is outside the allowed %s", HMACSignatureHeader, ts, maxAge)
		}
	}
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(ts + "."))
		m.Write(body)
		want := m.Sum(nil)
		for _, s := range sigs {
			if hmac.Equal(s, want) {
				return nil
			}
		}
	}
	return fault.E(fault.Unauthorized, HMACSignatureHeader, ErrBadSignature)
}
