package opentext

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/patchbay/patchbay/internal/sandbox/kit"
)

// token is an issued access token.
type token struct {
	Value    string
	Subject  string // the user (password grant) or the client id (client_credentials)
	ClientID string
	Grant    string
	Expires  time.Time
	Refresh  string
}

type ctxKey struct{}

// subject returns the authenticated user of a /workflow/v1 request.
func subject(r *http.Request) *token {
	t, _ := r.Context().Value(ctxKey{}).(*token)
	if t == nil {
		return &token{}
	}
	return t
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// tokenResponse is the OAuth2 token response (access_token CONFIRMED by the
// Postman test scripts; the other members follow RFC 6749).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	Scope        string `json:"scope,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// handleToken serves POST /tenants/{tenant}/oauth2/token. It accepts the
// documented JSON body (CONFIRMED) and the standard form-encoded body and
// HTTP Basic client authentication (ASSUMPTION: RFC 6749 behaviour).
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	params := map[string]string{}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		kit.WriteJSON(w, http.StatusBadRequest, oauthError{"invalid_request", "reading body: " + err.Error()})
		return
	}
	switch ct {
	case "application/json":
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			kit.WriteJSON(w, http.StatusBadRequest, oauthError{"invalid_request", "malformed JSON body: " + err.Error()})
			return
		}
		for k, v := range m {
			if sv, ok := v.(string); ok {
				params[k] = sv
			}
		}
	case "application/x-www-form-urlencoded", "":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			kit.WriteJSON(w, http.StatusBadRequest, oauthError{"invalid_request", "malformed form body: " + err.Error()})
			return
		}
		for k := range vals {
			params[k] = vals.Get(k)
		}
	default:
		kit.WriteJSON(w, http.StatusUnsupportedMediaType, oauthError{"invalid_request", "Content-Type must be application/json or application/x-www-form-urlencoded"})
		return
	}
	if id, secret, ok := r.BasicAuth(); ok {
		params["client_id"], params["client_secret"] = id, secret
	}
	if r.PathValue("tenant") != s.opts.TenantID {
		kit.WriteJSON(w, http.StatusUnauthorized, oauthError{"invalid_client", "Unknown tenant"})
		return
	}
	grant := params["grant_type"]
	if grant == "" {
		kit.WriteJSON(w, http.StatusBadRequest, oauthError{"invalid_request", "Missing grant_type"})
		return
	}
	if params["client_id"] != s.opts.ClientID || params["client_secret"] != s.opts.ClientSecret {
		kit.WriteJSON(w, http.StatusUnauthorized, oauthError{"invalid_client", "Client authentication failed"})
		return
	}
	t := &token{ClientID: params["client_id"], Grant: grant}
	switch grant {
	case "client_credentials":
		t.Subject = params["client_id"]
	case "password":
		u := s.user(params["username"])
		if u == nil || u.Password != params["password"] || params["password"] == "" {
			kit.WriteJSON(w, http.StatusBadRequest, oauthError{"invalid_grant", "Invalid username or password"})
			return
		}
		t.Subject = u.Username
		t.Refresh = randomToken(24)
	case "refresh_token":
		s.mu.Lock()
		old := s.refresh[params["refresh_token"]]
		delete(s.refresh, params["refresh_token"])
		s.mu.Unlock()
		if old == nil {
			kit.WriteJSON(w, http.StatusBadRequest, oauthError{"invalid_grant", "Invalid refresh token"})
			return
		}
		t.Subject = old.Subject
		t.Refresh = randomToken(24)
	default:
		kit.WriteJSON(w, http.StatusBadRequest, oauthError{"unsupported_grant_type", "Unsupported grant type: " + grant})
		return
	}
	t.Value = randomToken(32)
	t.Expires = s.kit.Clock().Now().Add(s.opts.TokenLifetime)
	s.mu.Lock()
	s.tokens[t.Value] = t
	if t.Refresh != "" {
		s.refresh[t.Refresh] = t
	}
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	kit.WriteJSON(w, http.StatusOK, tokenResponse{
		AccessToken: t.Value, TokenType: "Bearer", ExpiresIn: int64(s.opts.TokenLifetime / time.Second),
		Scope: "openid otds:groups", RefreshToken: t.Refresh,
	})
}

func (s *Server) user(name string) *User {
	for i := range s.opts.Users {
		if strings.EqualFold(s.opts.Users[i].Username, name) {
			return &s.opts.Users[i]
		}
	}
	return nil
}

// groups returns the groups of a user (none for service clients).
func (s *Server) groups(name string) []string {
	if u := s.user(name); u != nil {
		return u.Groups
	}
	return nil
}

// authenticate checks the bearer token of a /workflow/v1 request and answers
// 401 with the gateway fault when it is missing, unknown or expired.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	h := r.Header.Get("Authorization")
	scheme, value, _ := strings.Cut(h, " ")
	value = strings.TrimSpace(value)
	if !strings.EqualFold(scheme, "Bearer") || value == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="opentext"`)
		writeFault(w, http.StatusUnauthorized, "Invalid access token", "oauth.v2.InvalidAccessToken")
		return nil, false
	}
	s.mu.Lock()
	t := s.tokens[value]
	s.mu.Unlock()
	if t == nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="opentext", error="invalid_token"`)
		writeFault(w, http.StatusUnauthorized, "Invalid access token", "keymanagement.service.invalid_access_token")
		return nil, false
	}
	if !s.kit.Clock().Now().Before(t.Expires) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="opentext", error="invalid_token"`)
		writeFault(w, http.StatusUnauthorized, "Access Token expired", "keymanagement.service.access_token_expired")
		return nil, false
	}
	return r.WithContext(context.WithValue(r.Context(), ctxKey{}, t)), true
}

// ExpireTokens makes every issued access token expired (refresh tokens stay valid).
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.kit.Clock().Now().Add(-time.Second)
	for _, t := range s.tokens {
		t.Expires = past
	}
}

// IssueToken returns a valid access token for user ("" for the service
// client), as if the client had called the token endpoint.
func (s *Server) IssueToken(user string) string {
	t := &token{Value: randomToken(32), ClientID: s.opts.ClientID, Grant: "client_credentials", Subject: s.opts.ClientID}
	if user != "" {
		t.Subject, t.Grant = user, "password"
	}
	t.Expires = s.kit.Clock().Now().Add(s.opts.TokenLifetime)
	s.mu.Lock()
	s.tokens[t.Value] = t
	s.mu.Unlock()
	return t.Value
}
