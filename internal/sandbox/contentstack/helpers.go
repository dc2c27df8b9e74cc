package contentstack

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

func jsonNumber(s string) json.Number { return json.Number(s) }

// Helpers for other packages' tests: read state directly, act as an editor
// in the UI would (so webhooks fire), and create many entries fast.

// EntryState is an entry copy as stored, read without going through the API.
type EntryState struct {
	UID         string
	ContentType string
	Locale      string // the copy's locale (the master's when the locale falls back)
	Version     int
	Fields      map[string]any // the latest version's document (system keys included)
	StageUID    string         // "" when the entry is in no workflow stage
	StageName   string
	Published   []PublishState
}

// PublishState is one publish_details record.
type PublishState struct {
	Environment     string // uid
	EnvironmentName string
	Locale          string
	Version         int
	Time            time.Time
}

// Entry reads an entry copy directly (locale "" means the master locale).
func (s *Server) Entry(ctUID, uid, locale string) (EntryState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.st.Entries[uid]
	if !ok || e.ContentType != ctUID {
		return EntryState{}, false
	}
	if locale == "" {
		locale = s.st.MasterLocale
	}
	l, src := s.st.source(e, locale)
	if l == nil {
		return EntryState{}, false
	}
	es := EntryState{UID: uid, ContentType: ctUID, Locale: src, Version: len(l.Versions), Fields: cloneDoc(l.latest())}
	if l.Workflow != nil {
		es.StageUID = str(l.Workflow["uid"])
		if wf, _ := s.workflowFor(ctUID, "main"); wf != nil {
			if st := stageByUID(wf, es.StageUID); st != nil {
				es.StageName = str(st["name"])
			}
		}
	}
	for _, cp := range e.Locales {
		for _, p := range cp.Publish {
			t, _ := time.Parse(time.RFC3339, p.Time)
			name := ""
			if env, ok := s.st.Environments[p.Environment]; ok {
				name = str(env["name"])
			}
			es.Published = append(es.Published, PublishState{Environment: p.Environment, EnvironmentName: name,
				Locale: p.Locale, Version: p.Version, Time: t})
		}
	}
	sort.Slice(es.Published, func(i, j int) bool {
		a, b := es.Published[i], es.Published[j]
		return a.EnvironmentName+a.Locale < b.EnvironmentName+b.Locale
	})
	return es, true
}

// IsPublished reports whether the entry is live in an environment (name or
// uid) and locale, and at which version.
func (s *Server) IsPublished(ctUID, uid, env, locale string) (version int, ok bool) {
	es, found := s.Entry(ctUID, uid, "")
	if !found {
		return 0, false
	}
	for _, p := range es.Published {
		if (p.Environment == env || p.EnvironmentName == env) && p.Locale == locale {
			return p.Version, true
		}
	}
	return 0, false
}

// EntryUIDs lists a content type's entry uids in creation order.
func (s *Server) EntryUIDs(ctUID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, e := range s.entriesOf(ctUID) {
		out = append(out, e.UID)
	}
	return out
}

// FindEntry returns the uid of the first entry (creation order) whose
// master copy has field == value.
func (s *Server) FindEntry(ctUID, field string, value any) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.entriesOf(ctUID) {
		if l, _ := s.st.source(e, s.st.MasterLocale); l != nil && equal(l.latest()[field], value) {
			return e.UID, true
		}
	}
	return "", false
}

// StageUID resolves a stage name of the workflow applying to a content type.
func (s *Server) StageUID(ctUID, stageName string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wf, _ := s.workflowFor(ctUID, "main")
	if wf == nil {
		return "", false
	}
	st := stageNamed(wf, stageName)
	if st == nil {
		return "", false
	}
	return str(st["uid"]), true
}

// EnvironmentUID resolves an environment name.
func (s *Server) EnvironmentUID(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	env, ok := s.envByName(name)
	if !ok {
		return "", false
	}
	return str(env["uid"]), true
}

// CreateEntries creates n entries of a content type in the master locale
// without firing webhooks or paying the HTTP and rate-limit cost (for
// tests that page past 1,000 entries). fields(i) gives entry i's fields;
// unique fields must get unique values. It returns the uids in order.
func (s *Server) CreateEntries(ctUID string, n int, fields func(i int) map[string]any) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sys := caller{user: SystemUser, managementToken: true}
	uids := make([]string, 0, n)
	for i := range n {
		d, _, ae := s.doCreateEntry(sys, ctUID, s.st.MasterLocale, fields(i), "main")
		if ae != nil {
			return uids, fmt.Errorf("creating entry %d: %w", i, ae)
		}
		uids = append(uids, str(d["uid"]))
	}
	return uids, nil
}

// Editor acts on the stack as a person in the Contentstack UI would: its
// changes are recorded as made by EditorUser and fire the same webhooks as
// API calls. It skips HTTP, credentials and rate limits.
type Editor struct{ s *Server }

// Editor returns the UI-editor helper.
func (s *Server) Editor() Editor { return Editor{s: s} }

var editorCaller = caller{user: EditorUser}

func (ed Editor) run(fn func() ([]event, *apiError)) error {
	ed.s.mu.Lock()
	evs, ae := fn()
	ed.s.mu.Unlock()
	if ae != nil {
		return ae
	}
	ed.s.dispatch(evs)
	return nil
}

func (ed Editor) locale(l string) string {
	if l == "" {
		return ed.s.st.MasterLocale
	}
	return l
}

// CreateEntry saves a new entry (locale "" = master) and returns its uid.
func (ed Editor) CreateEntry(ctUID, locale string, fields map[string]any) (string, error) {
	var uid string
	err := ed.run(func() ([]event, *apiError) {
		d, evs, ae := ed.s.doCreateEntry(editorCaller, ctUID, ed.locale(locale), cloneDoc(fields), "main")
		if ae == nil {
			uid = str(d["uid"])
		}
		return evs, ae
	})
	return uid, err
}

// UpdateEntry saves changed fields (others are kept) and returns the new _version.
func (ed Editor) UpdateEntry(ctUID, uid, locale string, fields map[string]any) (int, error) {
	var version int
	err := ed.run(func() ([]event, *apiError) {
		d, evs, ae := ed.s.doUpdateEntry(editorCaller, ctUID, uid, ed.locale(locale), cloneDoc(fields))
		if ae == nil {
			version = intOf(d["_version"])
		}
		return evs, ae
	})
	return version, err
}

// DeleteEntry deletes the entry in all locales.
func (ed Editor) DeleteEntry(ctUID, uid string) error {
	return ed.run(func() ([]event, *apiError) {
		return ed.s.doDeleteEntry(ctUID, uid, "", nil, true)
	})
}

// SetStage moves the entry copy to a stage given by name or uid.
func (ed Editor) SetStage(ctUID, uid, locale, stage string) error {
	if su, ok := ed.s.StageUID(ctUID, stage); ok {
		stage = su
	}
	return ed.run(func() ([]event, *apiError) {
		return ed.s.doSetStage(editorCaller, ctUID, uid, ed.locale(locale), doc{"uid": stage}, "main")
	})
}

// Publish publishes the latest version of the entry's locale copy to the
// environments (names or uids) and locales right away (no queue delay).
func (ed Editor) Publish(ctUID, uid, locale string, environments, locales []string) error {
	return ed.publish("publish", ctUID, uid, locale, environments, locales)
}

// Unpublish removes the entry from the environments and locales right away.
func (ed Editor) Unpublish(ctUID, uid, locale string, environments, locales []string) error {
	return ed.publish("unpublish", ctUID, uid, locale, environments, locales)
}

func (ed Editor) publish(action, ctUID, uid, locale string, environments, locales []string) error {
	return ed.run(func() ([]event, *apiError) {
		if _, _, ae := ed.s.lookupEntry(ctUID, uid); ae != nil {
			return nil, ae
		}
		src := ed.locale(locale)
		if len(locales) == 0 {
			locales = []string{src}
		}
		envUIDs, problems := ed.s.resolveTargets(environments, locales)
		if len(problems) > 0 {
			return nil, errInvalid(141, "The "+action+" action could not be performed.", problems)
		}
		var evs []event
		for _, env := range envUIDs {
			for _, l := range locales {
				reason, ev := ed.s.applyPublish(action, pubItem{ct: ctUID, uid: uid, srcLocale: src}, env, l, EditorUser)
				if reason != "" {
					return nil, errInvalid(141, reason, nil)
				}
				evs = append(evs, ev...)
			}
		}
		return evs, nil
	})
}
