// Package sandbox starts the three local stand-ins patchbay is tried and
// tested against — iconik, Contentstack and OpenText Workflow Service
// (internal/sandbox/iconik, contentstack, opentext) — together, each on its
// own loopback listener, and describes them: base URL and credentials under
// the real APIs' own names. `patchbay sandbox` and `patchbay up --demo` use it.
//
// Each sandbox gets its own address (not a path prefix on a shared one)
// because the real services are separate hosts and the connectors append
// the documented paths (/API/…, /v3/…, /tenants/…, /workflow/v1/…) to a
// bare base URL; the sandbox URL is that base URL.
//
// Invariants (proved by sandbox_test.go):
//   - Start returns only when all three answer on their URLs with the
//     credentials of Info, and each server knows its own URL (SetURL), so the
//     URLs it hands out (proxies, keyframes, HAL links, the public key) point
//     at itself;
//   - Start never reaches the network beyond the loopback listeners it opens;
//   - Close stops the listeners and every server's background work; a
//     second Close is a no-op.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/patchbay/patchbay/internal/sandbox/contentstack"
	"github.com/patchbay/patchbay/internal/sandbox/iconik"
	"github.com/patchbay/patchbay/internal/sandbox/kit"
	"github.com/patchbay/patchbay/internal/sandbox/opentext"
)

// Options configure Start. The zero value starts three seeded sandboxes on
// free loopback ports with realistic delays.
type Options struct {
	// IconikAddr, ContentstackAddr and OpenTextAddr are the listen addresses;
	// empty means 127.0.0.1:0 (a free port).
	IconikAddr, ContentstackAddr, OpenTextAddr string
	// AnyPortIfBusy makes a taken fixed port fall back to a free one on the
	// same host instead of failing.
	AnyPortIfBusy bool
	// NoSeed starts the sandboxes without their demo data (iconik keeps its
	// users and storages, Contentstack its en-us locale).
	NoSeed bool
	// IconikAssets is how many demo assets the iconik seed creates; 0 means 24.
	IconikAssets int
	// TimeScale multiplies the sandboxes' built-in delays (iconik's
	// transcoder, Contentstack's publishing, OpenText timers, webhook
	// retries); 0 means 1.
	TimeScale float64
	// SnapshotDir, if set, keeps each sandbox's state in
	// SnapshotDir/{iconik,contentstack,opentext}.json: loaded at Start when
	// present, written every SnapshotEvery when it changed and at Close, so
	// a crash (kill -9) loses at most the last few seconds.
	SnapshotDir string
	// SnapshotEvery is how often changed state is saved; 0 means every
	// 2 seconds, negative only at Close.
	SnapshotEvery time.Duration
	// Logger receives the sandboxes' debug logs; nil discards them.
	Logger *slog.Logger
}

// Info describes the running sandboxes. Its JSON form is what
// `patchbay sandbox --json` prints and what `up --demo` writes to demo.json.
type Info struct {
	Iconik       IconikInfo       `json:"iconik"`
	Contentstack ContentstackInfo `json:"contentstack"`
	OpenText     OpenTextInfo     `json:"opentext"`
}

// IconikInfo is the iconik sandbox's base URL and credentials.
type IconikInfo struct {
	URL            string `json:"url"`
	AppID          string `json:"app_id"`
	AuthToken      string `json:"auth_token"`
	SystemDomainID string `json:"system_domain_id"`
	// MetadataView is the seeded view holding every demo field, and its id.
	MetadataView   string `json:"metadata_view"`
	MetadataViewID string `json:"metadata_view_id"`
}

// ContentstackInfo is the Contentstack sandbox's base URL (the CMA host and
// the app host) and credentials.
type ContentstackInfo struct {
	URL             string `json:"url"`
	APIKey          string `json:"api_key"`
	ManagementToken string `json:"management_token"`
	// PublicKeyURL serves the key webhook signatures verify with.
	PublicKeyURL string `json:"public_key_url"`
}

// OpenTextInfo is the OpenText Workflow sandbox's base URL and credentials.
type OpenTextInfo struct {
	URL          string `json:"url"`
	TenantID     string `json:"tenant_id"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	// Username and Password are a reviewer for the password grant.
	Username string `json:"username"`
	Password string `json:"password"`
	// TokenURL is where tokens come from; InboxURL is the clickable task inbox.
	TokenURL string `json:"token_url"`
	InboxURL string `json:"inbox_url"`
}

// Sandboxes are three running sandboxes.
type Sandboxes struct {
	Iconik       *iconik.Server
	Contentstack *contentstack.Server
	OpenText     *opentext.Server

	info    Info
	servers []*http.Server
	once    sync.Once
	err     error
	stop    chan struct{} // closed by Close: the snapshot saver stops
	saved   chan struct{} // closed when the saver has stopped
	log     *slog.Logger
}

// Start builds the three sandboxes, listens on their addresses and serves
// them until Close.
func Start(opts Options) (*Sandboxes, error) {
	if opts.IconikAssets <= 0 {
		opts.IconikAssets = 24
	}
	if opts.TimeScale <= 0 {
		opts.TimeScale = 1
	}
	snap := func(name string) string {
		if opts.SnapshotDir == "" {
			return ""
		}
		return filepath.Join(opts.SnapshotDir, name+".json")
	}
	ko := kit.Options{Logger: opts.Logger}
	s := &Sandboxes{log: opts.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	var err error
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	s.Iconik, err = iconik.New(iconik.Options{Seed: !opts.NoSeed, SeedAssetCount: opts.IconikAssets,
		TimeScale: opts.TimeScale, SnapshotPath: snap("iconik"), Kit: ko})
	if err != nil {
		return nil, fmt.Errorf("starting the iconik sandbox: %w", err)
	}
	s.Contentstack, err = contentstack.New(contentstack.Options{Seed: !opts.NoSeed, TimeScale: opts.TimeScale,
		SnapshotPath: snap("contentstack"), Kit: ko})
	if err != nil {
		return nil, fmt.Errorf("starting the contentstack sandbox: %w", err)
	}
	s.OpenText, err = opentext.New(opentext.Options{Seed: !opts.NoSeed, TimeScale: opts.TimeScale,
		SnapshotPath: snap("opentext"), Kit: ko})
	if err != nil {
		return nil, fmt.Errorf("starting the opentext sandbox: %w", err)
	}

	urls := make([]string, 3)
	for i, x := range []struct {
		addr string
		h    http.Handler
	}{{opts.IconikAddr, s.Iconik}, {opts.ContentstackAddr, s.Contentstack}, {opts.OpenTextAddr, s.OpenText}} {
		var ln net.Listener
		ln, err = listen(x.addr, opts.AnyPortIfBusy)
		if err != nil {
			return nil, err
		}
		urls[i] = "http://" + ln.Addr().String()
		srv := &http.Server{Handler: x.h, ReadHeaderTimeout: 10 * time.Second}
		s.servers = append(s.servers, srv)
		go func() { _ = srv.Serve(ln) }()
	}
	s.Iconik.SetURL(urls[0])
	s.Contentstack.SetURL(urls[1])
	s.OpenText.SetURL(urls[2])

	ic, cs, ot := s.Iconik.Credentials(), s.Contentstack.Credentials(), s.OpenText.Credentials()
	s.info = Info{
		Iconik: IconikInfo{URL: urls[0], AppID: ic["app_id"], AuthToken: ic["auth_token"],
			SystemDomainID: s.Iconik.SystemDomainID(), MetadataView: iconik.ViewPatchbay,
			MetadataViewID: s.Iconik.ViewID(iconik.ViewPatchbay)},
		Contentstack: ContentstackInfo{URL: urls[1], APIKey: cs["api_key"], ManagementToken: cs["management_token"],
			PublicKeyURL: urls[1] + "/.well-known/public-keys.json"},
		OpenText: OpenTextInfo{URL: urls[2], TenantID: ot["tenant_id"], ClientID: ot["client_id"], ClientSecret: ot["client_secret"],
			Username: ot["username"], Password: ot["password"],
			TokenURL: urls[2] + "/tenants/" + ot["tenant_id"] + "/oauth2/token", InboxURL: urls[2] + "/sandbox/opentext/inbox"},
	}
	if opts.SnapshotDir != "" && opts.SnapshotEvery >= 0 {
		every := opts.SnapshotEvery
		if every == 0 {
			every = 2 * time.Second
		}
		s.stop, s.saved = make(chan struct{}), make(chan struct{})
		go s.saveEvery(every)
	}
	return s, nil
}

// saveEvery saves the sandboxes' changed state until Close.
func (s *Sandboxes) saveEvery(every time.Duration) {
	defer close(s.saved)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		for _, save := range []func() error{s.Iconik.SaveSnapshot, s.Contentstack.SaveSnapshot, s.OpenText.SaveSnapshot} {
			if err := save(); err != nil {
				s.log.Warn("saving a sandbox snapshot", "err", err)
			}
		}
	}
}

// listen opens a TCP listener on addr ("" means 127.0.0.1:0).
func listen(addr string, anyPort bool) (net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil && anyPort {
		host, _, serr := net.SplitHostPort(addr)
		if serr == nil {
			if ln, err2 := net.Listen("tcp", net.JoinHostPort(host, "0")); err2 == nil {
				return ln, nil
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("listening for a sandbox: %w", err)
	}
	return ln, nil
}

// Info returns the URLs and credentials.
func (s *Sandboxes) Info() Info { return s.info }

// Close stops the listeners, then each sandbox's background work (writing
// its snapshot when SnapshotDir is set).
func (s *Sandboxes) Close() error {
	s.once.Do(func() {
		if s.stop != nil {
			close(s.stop)
			<-s.saved
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var errs []error
		for _, srv := range s.servers {
			if err := srv.Shutdown(ctx); err != nil {
				_ = srv.Close()
			}
		}
		if s.Iconik != nil {
			errs = append(errs, s.Iconik.Close())
		}
		if s.Contentstack != nil {
			errs = append(errs, s.Contentstack.Close())
		}
		if s.OpenText != nil {
			errs = append(errs, s.OpenText.Close())
		}
		s.err = errors.Join(errs...)
	})
	return s.err
}
