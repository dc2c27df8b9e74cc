package contentstackapi

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/fault"
	sandbox "github.com/patchbay/patchbay/internal/sandbox/contentstack"
	"github.com/patchbay/patchbay/internal/sandbox/kit"
)

var testKey = func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}()

func newSandbox(t *testing.T, o sandbox.Options) (*sandbox.Server, string) {
	t.Helper()
	o.SigningKey = testKey
	if o.TimeScale == 0 {
		o.TimeScale = 0.002
	}
	s, err := sandbox.New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	s.SetURL(srv.URL)
	t.Cleanup(func() { srv.Close(); _ = s.Close() })
	return s, srv.URL
}

func newClient(t *testing.T, s *sandbox.Server, url string, o Options) *Client {
	t.Helper()
	o.BaseURL, o.AppURL = url+"/v3", url
	o.APIKey, o.ManagementToken = s.APIKey(), s.ManagementToken()
	if o.Backoff == 0 {
		o.Backoff = 10 * time.Millisecond
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRegionsMatchTheSDKFile(t *testing.T) {
	t.Parallel()
	wd, _ := os.Getwd()
	var path string
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			path = filepath.Join(dir, "..", "shared", "apis", "specs", "contentstack", "js-cma-sdk.regions.json")
			break
		}
		if filepath.Dir(dir) == dir {
			t.Skip("go.mod not found")
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("regions file not found at %s (needs ../shared beside the clone)", path)
	}
	var f struct {
		Regions []struct {
			ID        string            `json:"id"`
			Alias     []string          `json:"alias"`
			Endpoints map[string]string `json:"endpoints"`
		} `json:"regions"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Regions) != len(Regions) {
		t.Fatalf("%d regions in the file, %d here", len(f.Regions), len(Regions))
	}
	for _, fr := range f.Regions {
		for _, alias := range append([]string{fr.ID}, fr.Alias...) {
			r, ok := LookupRegion(strings.ToUpper(alias))
			if !ok || r.ID != fr.ID {
				t.Errorf("alias %s: %v %v", alias, r.ID, ok)
			}
		}
		r, _ := LookupRegion(fr.ID)
		if r.CMA != fr.Endpoints["contentManagement"] || r.App != fr.Endpoints["application"] || r.CDA != fr.Endpoints["contentDelivery"] {
			t.Errorf("%s: %s %s %s vs %v", fr.ID, r.CMA, r.App, r.CDA, fr.Endpoints)
		}
	}
}

func TestErrorsCarryKinds(t *testing.T) {
	t.Parallel()
	var answer atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := answer.Load().([2]string)
		code, _ := strconv.Atoi(a[0])
		w.WriteHeader(code)
		w.Write([]byte(a[1]))
	}))
	defer srv.Close()
	c, err := New(Options{BaseURL: srv.URL, APIKey: "k", ManagementToken: "secret-token", RateWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		status, body string
		kind         fault.Kind
		contains     string
	}{
		{"422", `{"error_message":"The requested entry doesn't exist.","error_code":141,"errors":{"uid":["is not valid."]}}`, fault.NotFound, "uid is not valid."},
		{"422", `{"error_message":"The Content Type 'x' was not found.","error_code":118,"errors":{}}`, fault.NotFound, "error_code 118"},
		{"422", `{"error_message":"Entry creation failed.","error_code":119,"errors":{"title":["is not unique."]}}`, fault.Conflict, "title is not unique."},
		{"422", `{"error_message":"Entry creation failed.","error_code":119,"errors":{"duration":["is not valid."]}}`, fault.Invalid, "duration"},
		{"412", `{"error_message":"We can't find that Stack.","error_code":109,"errors":{"api_key":["is not valid."]}}`, fault.Unauthorized, "Stack"},
		{"401", `{"error_message":"You're not allowed in here unless you're logged in. secret-token","error_code":105}`, fault.Unauthorized, "***"},
		{"403", `{"error_message":"no","error_code":162}`, fault.Forbidden, "no"},
		{"404", `{"error_message":"The requested URL was not found on this server."}`, fault.NotFound, "URL"},
		{"400", `{"message":"bad json"}`, fault.Invalid, "bad json"},
		{"500", `oops`, fault.Transient, "oops"},
		{"429", `{"error_message":"Rate limit exceeded.","error_code":429}`, fault.RateLimited, "Rate limit"},
	}
	for _, tt := range tests {
		answer.Store([2]string{tt.status, tt.body})
		_, err := c.Entry(context.Background(), "video", "blt1", GetOptions{})
		if fault.KindOf(err) != tt.kind || !strings.Contains(err.Error(), tt.contains) || strings.Contains(err.Error(), "secret-token") {
			t.Errorf("%s %s: err = %v (kind %v), want %v containing %q", tt.status, tt.body, err, fault.KindOf(err), tt.kind, tt.contains)
		}
		if tt.status == "422" {
			if ae, ok := AsAPIError(err); !ok || ae.Code == 0 {
				t.Errorf("%s: no APIError in %v", tt.body, err)
			}
		}
	}
}

func TestStorm429IsAbsorbed(t *testing.T) {
	t.Parallel()
	s, url := newSandbox(t, sandbox.Options{Seed: true})
	c := newClient(t, s, url, Options{})
	s.Kit().Faults.Update(func(f *kit.FaultConfig) { f.Storm429 = 6 })
	e, err := c.CreateEntry(context.Background(), "video", "", map[string]any{"title": "After the storm"})
	if err != nil {
		t.Fatalf("create during a 429 storm: %v", err)
	}
	n429 := 0
	for _, call := range s.Kit().Calls.List("/v3/") {
		if call.Status == http.StatusTooManyRequests {
			n429++
		}
	}
	if n429 != 6 || e.UID() == "" || len(s.EntryUIDs("video")) != 4 {
		t.Fatalf("%d 429s absorbed, entry %v, %d videos", n429, e.UID(), len(s.EntryUIDs("video")))
	}
	t.Logf("absorbed %d 429s", n429)

	// A storm longer than the wait budget is handed back as rate limited (safe to retry).
	c2 := newClient(t, s, url, Options{RateWait: 30 * time.Millisecond, Backoff: 20 * time.Millisecond})
	s.Kit().Faults.Update(func(f *kit.FaultConfig) { f.Storm429 = 50 })
	_, err = c2.CreateEntry(context.Background(), "video", "", map[string]any{"title": "Too stormy"})
	if fault.KindOf(err) != fault.RateLimited || fault.RetryAfter(err) <= 0 || !fault.IsSafe(err) {
		t.Fatalf("long storm: %v (kind %v, after %v, safe %v)", err, fault.KindOf(err), fault.RetryAfter(err), fault.IsSafe(err))
	}
	s.Kit().Faults.Reset()
}

func TestReadAndWriteBudgetsAreSeparate(t *testing.T) {
	t.Parallel()
	s, url := newSandbox(t, sandbox.Options{Seed: true, ReadRate: 5, WriteRate: 5})
	c := newClient(t, s, url, Options{ReadRate: 4, WriteRate: 4})
	ctx := context.Background()
	done := make(chan error, 2)
	go func() {
		for i := range 8 {
			if _, err := c.CreateEntry(ctx, "campaign", "", map[string]any{"title": "Budget " + strconv.Itoa(i)}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	go func() {
		for range 8 {
			if _, err := c.ContentType(ctx, "video"); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	for _, call := range s.Kit().Calls.List("/v3/") {
		if call.Status == http.StatusTooManyRequests {
			t.Fatalf("the provider answered 429 to %s %s: the budgets were not held", call.Method, call.Path)
		}
	}
}

func TestEachEntryPagesPast1000(t *testing.T) {
	t.Parallel()
	s, url := newSandbox(t, sandbox.Options{Seed: true, ReadRate: -1})
	if _, err := s.CreateEntries("campaign", 1050, func(i int) map[string]any {
		return map[string]any{"title": "C" + strconv.Itoa(i)}
	}); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s, url, Options{ReadRate: -1})
	seen := map[string]bool{}
	st, err := c.EachEntry(context.Background(), "campaign", ListOptions{Asc: "created_at"}, 0, func(e Entry) error {
		seen[e.UID()] = true
		return nil
	})
	if err != nil || len(seen) != 1052 || st.Pages != 11 || st.Total != 1052 || st.More {
		t.Fatalf("seen %d, stats %+v, err %v", len(seen), st, err)
	}
	st, err = c.EachEntry(context.Background(), "campaign", ListOptions{Skip: 1000, Query: Op("title", "$regex", "^C[0-9]")}, 0, func(Entry) error { return nil })
	if err != nil || st.Pages != 1 || st.Total != 1050 {
		t.Fatalf("from skip 1000: %+v %v", st, err)
	}
}

func TestVerifySignatureAndHMAC(t *testing.T) {
	t.Parallel()
	s, url := newSandbox(t, sandbox.Options{})
	c := newClient(t, s, url, Options{})
	pub, err := c.PublicKey(context.Background())
	if err != nil || pub.N.Cmp(testKey.N) != 0 {
		t.Fatalf("public key: %v", err)
	}
	body := []byte(`{"module":"entry","event":"update","data":{"entry":{"uid":"blt1"}}}`)
	sum := sha256.Sum256(body)
	sig, _ := rsa.SignPSS(rand.Reader, testKey, crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: 32, Hash: crypto.SHA256})
	good := "v1=" + base64.StdEncoding.EncodeToString(sig)
	pretty := []byte("{\n  \"module\": \"entry\",\n  \"event\": \"update\",\n  \"data\": {\"entry\": {\"uid\": \"blt1\"}}\n}")
	v1 := sha256.Sum256(body)
	pkcs, _ := rsa.SignPKCS1v15(rand.Reader, testKey, crypto.SHA256, v1[:])
	tests := []struct {
		name   string
		header string
		body   []byte
		ok     bool
	}{
		{"good", good, body, true},
		{"good with more parts", good + ",v0=xyz", body, true},
		{"re-serialised body (the Node example signs JSON.stringify)", good, pretty, true},
		{"other body", good, []byte(`{"module":"entry"}`), false},
		{"PKCS#1 v1.5 is not accepted", "v1=" + base64.StdEncoding.EncodeToString(pkcs), body, false},
		{"empty", "", body, false},
		{"garbage", "v1=%%%", body, false},
	}
	for _, tt := range tests {
		err := VerifySignature(pub, tt.header, tt.body)
		if (err == nil) != tt.ok || (err != nil && fault.KindOf(err) != fault.Unauthorized) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}

	now := time.Unix(1_800_000_000, 0)
	mac := func(secret string, ts int64) string {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(strconv.FormatInt(ts, 10) + "."))
		m.Write(body)
		return hex.EncodeToString(m.Sum(nil))
	}
	h := "t=" + strconv.FormatInt(now.Unix(), 10) + ",v1=" + mac("new", now.Unix()) + ",v1=" + mac("old", now.Unix())
	hmacTests := []struct {
		name    string
		secrets []string
		header  string
		now     time.Time
		ok      bool
	}{
		{"current key", []string{"new"}, h, now, true},
		{"rotating: old key still accepted", []string{"old"}, h, now, true},
		{"wrong key", []string{"other"}, h, now, false},
		{"too old", []string{"new"}, h, now.Add(10 * time.Minute), false},
		{"no v1", []string{"new"}, "t=1", now, false},
	}
	for _, tt := range hmacTests {
		err := VerifyHMAC(tt.secrets, tt.header, body, tt.now, 5*time.Minute)
		if (err == nil) != tt.ok {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

func TestQueryEncode(t *testing.T) {
	t.Parallel()
	q := And(Eq("iconik_asset_id", "A"), nil, In("rights.rights_status", "Cleared", "Restricted"), Gte("updated_at", "2026-01-01"))
	s, err := q.Encode()
	want := `{"$and":[{"iconik_asset_id":"A"},{"rights.rights_status":{"$in":["Cleared","Restricted"]}},{"updated_at":{"$gte":"2026-01-01"}}]}`
	if err != nil || s != want {
		t.Fatalf("got %s", s)
	}
	if s, _ := And(Eq("a", 1)).Encode(); s != `{"a":1}` {
		t.Errorf("single: %s", s)
	}
	if s, _ := Or().Encode(); s != "" {
		t.Errorf("empty: %s", s)
	}
}
