package contentstack

import (
	"net/http"
	"sort"
)

// ---- environments (addressed by name) ----

func (s *Server) newEnvironment(body doc, user string) doc {
	now := s.now()
	env := doc{"name": body["name"], "urls": orEmpty(body["urls"]), "servers": orEmpty(body["servers"]),
		"deploy_content": asBool(body["deploy_content"]), "uid": s.st.bltUID("environment"),
		"created_by": user, "updated_by": user, "created_at": now, "updated_at": now, "ACL": []any{}, "_version": 1}
	s.st.Environments[str(env["uid"])] = env
	return env
}

func (s *Server) envByName(name string) (doc, bool) {
	for _, e := range s.st.Environments {
		if e["name"] == name {
			return e, true
		}
	}
	return nil, false
}

func (s *Server) listEnvironments(w http.ResponseWriter, r *http.Request) *apiError {
	s.mu.Lock()
	var docs []doc
	for _, e := range s.st.sortedEnvs() {
		docs = append(docs, cloneDoc(e))
	}
	s.mu.Unlock()
	page, total, ae := s.page(r, docs, "environments", nil)
	if ae != nil {
		return ae
	}
	body := map[string]any{"environments": page}
	if qbool(r, "include_count") {
		body["count"] = total
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func (s *Server) getEnvironment(w http.ResponseWriter, r *http.Request) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	env, ok := s.envByName(r.PathValue("name"))
	if !ok {
		return errNotFound("environment")
	}
	writeJSON(w, http.StatusOK, map[string]any{"environment": cloneDoc(env)})
	return nil
}

func (s *Server) createEnvironment(w http.ResponseWriter, r *http.Request) *apiError {
	body, ae := readBody(r)
	if ae != nil {
		return ae
	}
	eb, _ := body["environment"].(map[string]any)
	if eb == nil || str(eb["name"]) == "" {
		return errInvalid(141, "Environment creation failed. Please enter valid data.", map[string][]string{"name": {"is a required field."}})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.envByName(str(eb["name"])); exists {
		return errInvalid(141, "Environment creation failed. Please enter valid data.", map[string][]string{"name": {"is not unique."}})
	}
	env := s.newEnvironment(eb, callerOf(r).user)
	writeJSON(w, http.StatusCreated, map[string]any{"notice": "Environment created successfully.", "environment": cloneDoc(env)})
	return nil
}

func (s *Server) updateEnvironment(w http.ResponseWriter, r *http.Request) *apiError {
	body, ae := readBody(r)
	if ae != nil {
		return ae
	}
	eb, _ := body["environment"].(map[string]any)
	if eb == nil {
		return errInvalid(141, "Environment update failed. Please enter valid data.", map[string][]string{"environment": {"is a required field."}})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	env, ok := s.envByName(r.PathValue("name"))
	if !ok {
		return errNotFound("environment")
	}
	if n := str(eb["name"]); n != "" && n != env["name"] {
		if _, exists := s.envByName(n); exists {
			return errInvalid(141, "Environment update failed. Please enter valid data.", map[string][]string{"name": {"is not unique."}})
		}
		env["name"] = n
	}
	for _, k := range []string{"urls", "servers"} {
		if v, ok := eb[k]; ok {
			env[k] = clone(v)
		}
	}
	if v, ok := eb["deploy_content"]; ok {
		env["deploy_content"] = asBool(v)
	}
	env["updated_at"] = s.now()
	env["updated_by"] = callerOf(r).user
	env["_version"] = intOf(env["_version"]) + 1
	writeJSON(w, http.StatusOK, map[string]any{"notice": "Environment updated successfully.", "environment": cloneDoc(env)})
	return nil
}

func (s *Server) deleteEnvironment(w http.ResponseWriter, r *http.Request) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	env, ok := s.envByName(r.PathValue("name"))
	if !ok {
		return errNotFound("environment")
	}
	delete(s.st.Environments, str(env["uid"]))
	notice(w, http.StatusOK, "Environment deleted successfully.")
	return nil
}

// ---- locales (addressed by code, or by uid for the fallback requests) ----

func (s *Server) localeByCodeOrUID(v string) (doc, bool) {
	if l, ok := s.st.Locales[v]; ok {
		return l, true
	}
	for _, l := range s.st.Locales {
		if l["uid"] == v {
			return l, true
		}
	}
	return nil, false
}

func (s *Server) listLocales(w http.ResponseWriter, r *http.Request) *apiError {
	s.mu.Lock()
	docs := make([]doc, 0, len(s.st.Locales))
	for _, l := range s.st.Locales {
		docs = append(docs, cloneDoc(l))
	}
	s.mu.Unlock()
	sort.Slice(docs, func(i, j int) bool {
		return str(docs[i]["created_at"])+str(docs[i]["code"]) < str(docs[j]["created_at"])+str(docs[j]["code"])
	})
	page, total, ae := s.page(r, docs, "languages", nil)
	if ae != nil {
		return ae
	}
	if qbool(r, "include_branch") {
		for _, d := range page {
			d["_branch"] = branchOf(r)
		}
	}
	body := map[string]any{"locales": page}
	if qbool(r, "include_count") {
		body["count"] = total
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func (s *Server) getLocale(w http.ResponseWriter, r *http.Request) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.localeByCodeOrUID(r.PathValue("code"))
	if !ok {
		return errNotFound("language")
	}
	writeJSON(w, http.StatusOK, map[string]any{"locale": cloneDoc(l)})
	return nil
}

func (s *Server) createLocale(w http.ResponseWriter, r *http.Request) *apiError {
	body, ae := readBody(r)
	if ae != nil {
		return ae
	}
	lb, _ := body["locale"].(map[string]any)
	code := str(lb["code"])
	if lb == nil || code == "" {
		return errInvalid(141, "Language creation failed. Please enter valid data.", map[string][]string{"code": {"is a required field."}})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.st.Locales[code]; exists {
		return errInvalid(141, "Language creation failed. Please enter valid data.", map[string][]string{"code": {"is not unique."}})
	}
	fallback := str(lb["fallback_locale"])
	if fallback == "" {
		fallback = s.st.MasterLocale
	}
	name := str(lb["name"])
	if name == "" {
		name = code
	}
	l := s.st.addLocale(code, name, fallback, s.now(), callerOf(r).user)
	writeJSON(w, http.StatusCreated, map[string]any{"notice": "Language added successfully.", "locale": cloneDoc(l)})
	return nil
}

func (s *Server) updateLocale(w http.ResponseWriter, r *http.Request) *apiError {
	body, ae := readBody(r)
	if ae != nil {
		return ae
	}
	lb, _ := body["locale"].(map[string]any)
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.localeByCodeOrUID(r.PathValue("code"))
	if !ok {
		return errNotFound("language")
	}
	if n := str(lb["name"]); n != "" {
		l["name"] = n
	}
	if f, ok := lb["fallback_locale"]; ok && str(l["code"]) != s.st.MasterLocale {
		l["fallback_locale"] = str(f)
	}
	l["updated_at"] = s.now()
	l["updated_by"] = callerOf(r).user
	l["_version"] = intOf(l["_version"]) + 1
	writeJSON(w, http.StatusOK, map[string]any{"notice": "Language updated successfully.", "locale": cloneDoc(l)})
	return nil
}

func (s *Server) deleteLocale(w http.ResponseWriter, r *http.Request) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.localeByCodeOrUID(r.PathValue("code"))
	if !ok {
		return errNotFound("language")
	}
	code := str(l["code"])
	if code == s.st.MasterLocale {
		return errInvalid(141, "The master language cannot be deleted.", map[string][]string{"code": {"is not valid."}})
	}
	delete(s.st.Locales, code)
	for uid, e := range s.st.Entries {
		delete(e.Locales, code)
		if len(e.Locales) == 0 {
			delete(s.st.Entries, uid)
		}
	}
	notice(w, http.StatusOK, "Language removed successfully.")
	return nil
}
