package iconik

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/mail"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Field types iconik accepts (from its API error messages, per the notes).
var fieldTypes = set("string", "string_exact", "text", "integer", "float", "boolean", "date", "datetime",
	"drop_down", "tag_cloud", "email", "url")

func metaKey(objectType, objectID, versionID string) string {
	return objectType + "/" + objectID + "/" + versionID
}

// ---- fields ----

func (c *call) applyField(f *Field, p patch, fe fieldErrors) {
	p.str("label", &f.Label, fe)
	p.str("field_type", &f.FieldType, fe)
	if p.has("field_type") && !fieldTypes[f.FieldType] {
		fe.add("field_type", "Must be one of: "+strings.Join(sortedKeys(fieldTypes), ", ")+".")
	}
	p.str("description", &f.Description, fe)
	p.str("external_id", &f.ExternalID, fe)
	p.boolean("multi", &f.Multi, fe)
	p.boolean("is_block_field", &f.IsBlockField, fe)
	p.boolean("is_warning_field", &f.IsWarningField, fe)
	p.boolean("representative", &f.Representative, fe)
	p.boolean("sortable", &f.Sortable, fe)
	p.boolean("use_as_facet", &f.UseAsFacet, fe)
	for k, dst := range map[string]**bool{"required": &f.Required, "read_only": &f.ReadOnly, "auto_set": &f.AutoSet, "hide_if_not_set": &f.HideIfNotSet} {
		if p.has(k) {
			if p.isNull(k) {
				*dst = nil
				continue
			}
			var v bool
			p.boolean(k, &v, fe)
			*dst = &v
		}
	}
	p.nstr("source_url", &f.SourceURL, fe)
	if p.has("options") {
		var opts []FieldOption
		if err := json.Unmarshal(p["options"], &opts); err != nil {
			fe.add("options", "Not a valid list.")
		} else {
			f.Options = opts
		}
	}
	for k, dst := range map[string]**float64{"min_value": &f.MinValue, "max_value": &f.MaxValue} {
		if p.has(k) && !p.isNull(k) {
			var v float64
			if err := json.Unmarshal(p[k], &v); err != nil {
				fe.add(k, "Not a valid number.")
				continue
			}
			*dst = &v
		}
	}
}

func (c *call) listFields() (int, any) {
	perPage := 500
	if v := c.q("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return c.invalid("per_page", "Must be greater than or equal to 1.")
		}
		perPage = n
	}
	after := c.q("last_field_name")
	names := sortedKeys(c.s.st.Fields)
	out := []Field{}
	for _, n := range names {
		if after != "" && n <= after {
			continue
		}
		if len(out) == perPage {
			break
		}
		out = append(out, *c.s.st.Fields[n])
	}
	return http.StatusOK, map[string]any{"objects": out, "per_page": perPage, "total": len(names)}
}

func (c *call) createField() (int, any) {
	p, st, b, ok := c.decodePatch()
	if !ok {
		return st, b
	}
	fe := fieldErrors{}
	f := &Field{}
	for _, k := range []string{"name", "label", "field_type"} {
		if !p.has(k) {
			fe.add(k, "Missing data for required field.")
		}
	}
	p.str("name", &f.Name, fe)
	c.applyField(f, p, fe)
	if f.Name != "" && c.s.st.Fields[f.Name] != nil {
		fe.add("name", "Field with this name already exists")
	}
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	now := c.s.stamp()
	f.DateCreated, f.DateModified = now, now
	c.s.st.Fields[f.Name] = f
	return http.StatusCreated, *f
}

func (c *call) getField() (int, any) {
	f := c.s.st.Fields[c.path("field_name")]
	if f == nil {
		return c.fail(http.StatusNotFound, "Field does not exist")
	}
	return http.StatusOK, *f
}

func (c *call) updateField() (int, any) {
	f := c.s.st.Fields[c.path("field_name")]
	if f == nil {
		return c.fail(http.StatusNotFound, "Field does not exist")
	}
	p, st, b, ok := c.decodePatch()
	if !ok {
		return st, b
	}
	fe := fieldErrors{}
	next := *f
	c.applyField(&next, p, fe)
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	next.DateModified = c.s.stamp()
	*f = next
	return http.StatusOK, *f
}

func (c *call) deleteField() (int, any) {
	name := c.path("field_name")
	if c.s.st.Fields[name] == nil {
		return c.fail(http.StatusNotFound, "Field does not exist")
	}
	delete(c.s.st.Fields, name)
	for _, v := range c.s.st.Views {
		v.Fields = slices.DeleteFunc(v.Fields, func(n string) bool { return n == name })
	}
	return http.StatusNoContent, nil
}

// ---- views ----

type viewFieldOut struct {
	Name         string        `json:"name"`
	Label        *string       `json:"label"`
	Options      []FieldOption `json:"options,omitempty"`
	Required     *bool         `json:"required"`
	ReadOnly     *bool         `json:"read_only"`
	AutoSet      *bool         `json:"auto_set"`
	HideIfNotSet *bool         `json:"hide_if_not_set"`
	SourceURL    *string       `json:"source_url"`
}

type viewOut struct {
	ID           string  `json:"id"`
	Name         string  `json:"name"`
	Description  *string `json:"description"`
	ViewFields   any     `json:"view_fields"`
	DateCreated  string  `json:"date_created"`
	DateModified string  `json:"date_modified"`
}

// viewFull renders MetadataViewSchema (view_fields are full field definitions).
func (c *call) viewFull(v *View) viewOut {
	fields := []Field{}
	for _, n := range v.Fields {
		if f := c.s.st.Fields[n]; f != nil {
			fields = append(fields, *f)
		}
	}
	return viewOut{ID: v.ID, Name: v.Name, Description: v.Description, ViewFields: fields, DateCreated: v.DateCreated, DateModified: v.DateModified}
}

// viewBrief renders MetadataViewForListSchema.
func (c *call) viewBrief(v *View) viewOut {
	fields := []viewFieldOut{}
	for _, n := range v.Fields {
		if f := c.s.st.Fields[n]; f != nil {
			fields = append(fields, viewFieldOut{Name: f.Name, Label: strPtr(f.Label), Options: f.Options, Required: f.Required,
				ReadOnly: f.ReadOnly, AutoSet: f.AutoSet, HideIfNotSet: f.HideIfNotSet, SourceURL: f.SourceURL})
		}
	}
	return viewOut{ID: v.ID, Name: v.Name, Description: v.Description, ViewFields: fields, DateCreated: v.DateCreated, DateModified: v.DateModified}
}

func (c *call) listViews() (int, any) {
	out := []viewOut{}
	for _, v := range sortedByCreated(c.s.st.Views, func(x *View) (string, string) { return x.DateCreated, x.ID }) {
		out = append(out, c.viewBrief(v))
	}
	return http.StatusOK, map[string]any{"objects": out}
}

func (c *call) viewInput(p patch, v *View, requireAll bool, fe fieldErrors) {
	if requireAll {
		for _, k := range []string{"name", "view_fields"} {
			if !p.has(k) {
				fe.add(k, "Missing data for required field.")
			}
		}
	}
	p.str("name", &v.Name, fe)
	p.nstr("description", &v.Description, fe)
	if p.has("view_fields") {
		var vf []struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(p["view_fields"], &vf); err != nil {
			fe.add("view_fields", "Not a valid list.")
			return
		}
		v.Fields = nil
		for i, f := range vf {
			if c.s.st.Fields[f.Name] == nil {
				fe.add(fmt.Sprintf("view_fields.%d.name", i), "Field "+f.Name+" does not exist")
				continue
			}
			v.Fields = append(v.Fields, f.Name)
		}
	}
}

func (c *call) createView() (int, any) {
	p, st, b, ok := c.decodePatch()
	if !ok {
		return st, b
	}
	fe := fieldErrors{}
	v := &View{}
	c.viewInput(p, v, true, fe)
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	now := c.s.stamp()
	v.ID, v.DateCreated, v.DateModified = c.s.newID(), now, now
	c.s.st.Views[v.ID] = v
	c.s.st.viewIndex[v.Name] = v.ID
	return http.StatusCreated, c.viewFull(v)
}

func (c *call) getView() (int, any) {
	v := c.s.st.Views[c.path("view_id")]
	if v == nil {
		return c.fail(http.StatusNotFound, "Metadata view does not exist")
	}
	return http.StatusOK, c.viewFull(v)
}

func (c *call) updateView() (int, any) {
	v := c.s.st.Views[c.path("view_id")]
	if v == nil {
		return c.fail(http.StatusNotFound, "Metadata view does not exist")
	}
	p, st, b, ok := c.decodePatch()
	if !ok {
		return st, b
	}
	fe := fieldErrors{}
	next := *v
	c.viewInput(p, &next, c.r.Method == http.MethodPut, fe)
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	delete(c.s.st.viewIndex, v.Name)
	next.DateModified = c.s.stamp()
	*v = next
	c.s.st.viewIndex[v.Name] = v.ID
	return http.StatusOK, c.viewFull(v)
}

func (c *call) deleteView() (int, any) {
	v := c.s.st.Views[c.path("view_id")]
	if v == nil {
		return c.fail(http.StatusNotFound, "Metadata view does not exist")
	}
	delete(c.s.st.Views, v.ID)
	delete(c.s.st.viewIndex, v.Name)
	return http.StatusNoContent, nil
}

// ---- values ----

// fieldValueIn is one field of a MetadataValuesSchema write.
type fieldValueIn struct {
	FieldValues []map[string]any `json:"field_values"`
	Mode        string           `json:"mode"`
}

type valuesOut struct {
	ObjectID       string                    `json:"object_id"`
	ObjectType     string                    `json:"object_type"`
	VersionID      string                    `json:"version_id,omitempty"`
	DateCreated    string                    `json:"date_created,omitempty"`
	DateModified   string                    `json:"date_modified,omitempty"`
	MetadataValues map[string]map[string]any `json:"metadata_values"`
}

func renderValues(vals []any, asString bool) []map[string]any {
	out := make([]map[string]any, 0, len(vals))
	for _, v := range vals {
		if asString {
			v = valueString(v)
		}
		out = append(out, map[string]any{"value": v})
	}
	return out
}

func (c *call) valuesView(rec *metadataRecord, fields map[string]bool, asString bool) valuesOut {
	out := valuesOut{ObjectID: rec.ObjectID, ObjectType: rec.ObjectType, VersionID: rec.VersionID,
		DateCreated: rec.DateCreated, DateModified: rec.DateModified, MetadataValues: map[string]map[string]any{}}
	for k, vals := range rec.Values {
		if fields != nil && !fields[k] {
			continue
		}
		if len(vals) == 0 {
			continue
		}
		out.MetadataValues[k] = map[string]any{"field_values": renderValues(vals, asString)}
	}
	return out
}

// metaTarget resolves the object (and asset version) metadata is read or written for.
func (c *call) metaTarget(objectType, objectID, versionID string) (string, int, any, bool) {
	switch objectType {
	case "assets":
		a := c.s.st.Assets[objectID]
		if a == nil {
			st, b := c.fail(http.StatusNotFound, "Asset does not exist")
			return "", st, b, false
		}
		if versionID == "" {
			return latestVersionID(a), 0, nil, true
		}
		if findVersion(a, versionID) == nil {
			st, b := c.fail(http.StatusNotFound, "Version does not exist")
			return "", st, b, false
		}
		return versionID, 0, nil, true
	case "collections":
		if c.s.st.Collections[objectID] == nil {
			st, b := c.fail(http.StatusNotFound, "Collection does not exist")
			return "", st, b, false
		}
	case "segments":
		if c.s.st.Segments[objectID] == nil {
			st, b := c.fail(http.StatusNotFound, "Segment does not exist")
			return "", st, b, false
		}
	}
	return "", 0, nil, true
}

func (c *call) viewFields(viewID string) (map[string]bool, *View, int, any, bool) {
	v := c.s.st.Views[viewID]
	if v == nil {
		st, b := c.fail(http.StatusNotFound, "Metadata view doesn't exist")
		return nil, nil, st, b, false
	}
	return set(v.Fields...), v, 0, nil, true
}

func (c *call) getValues(objectType, objectID, versionID, viewID string) (int, any) {
	var fields map[string]bool
	if viewID != "" {
		var st int
		var b any
		var ok bool
		if fields, _, st, b, ok = c.viewFields(viewID); !ok {
			return st, b
		}
	}
	ver, st, b, ok := c.metaTarget(objectType, objectID, versionID)
	if !ok {
		return st, b
	}
	rec := c.s.st.Metadata[metaKey(objectType, objectID, ver)]
	if rec == nil {
		if viewID != "" {
			return c.fail(http.StatusNotFound, "Metadata values for this object and view doesn't exist")
		}
		return c.fail(http.StatusNotFound, "Metadata values for this object don't exist")
	}
	return http.StatusOK, c.valuesView(rec, fields, c.qBool("reencode_values_to_string", false))
}

// putValues writes a MetadataValuesSchema body through a view (or without one).
func (c *call) putValues(objectType, objectID, viewID string) (int, any) {
	var fields map[string]bool
	if viewID != "" {
		var st int
		var b any
		var ok bool
		if fields, _, st, b, ok = c.viewFields(viewID); !ok {
			return st, b
		}
	}
	ver, st, b, ok := c.metaTarget(objectType, objectID, "")
	if !ok {
		return st, b
	}
	var in struct {
		MetadataValues map[string]fieldValueIn `json:"metadata_values"`
	}
	if st, b, ok := c.decode(&in); !ok {
		return st, b
	}
	if in.MetadataValues == nil {
		return c.invalid("metadata_values", "Missing data for required field.")
	}
	rec, fe := c.writeValues(objectType, objectID, ver, viewID, fields, in.MetadataValues, viewID != "")
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	return http.StatusOK, c.valuesView(rec, fields, false)
}

// writeValues validates and applies a write, sending a metadata event with
// the fields that changed. restrict limits the writable fields (a view);
// validate checks values against the field definitions.
func (c *call) writeValues(objectType, objectID, versionID, viewID string, restrict map[string]bool, in map[string]fieldValueIn, validate bool) (*metadataRecord, fieldErrors) {
	fe := fieldErrors{}
	type change struct {
		name string
		vals []any
		mode string
	}
	var changes []change
	for _, name := range sortedKeys(in) {
		fv := in[name]
		mode := fv.Mode
		if mode == "" {
			mode = "overwrite"
		}
		if mode != "overwrite" && mode != "append" && mode != "delete" {
			fe.add("metadata_values."+name+".mode", "Must be one of: append, delete, overwrite.")
			continue
		}
		if restrict != nil && !restrict[name] {
			// UNCONFIRMED: a field outside the view is rejected rather than ignored.
			fe.add("metadata_values."+name, "Field is not in the metadata view")
			continue
		}
		f := c.s.st.Fields[name]
		if validate && f == nil {
			fe.add("metadata_values."+name, "Field does not exist")
			continue
		}
		vals := make([]any, 0, len(fv.FieldValues))
		for _, item := range fv.FieldValues {
			v, ok := item["value"]
			if !ok || v == nil {
				continue
			}
			if validate {
				nv, err := checkValue(f, v)
				if err != "" {
					fe.add("metadata_values."+name+".field_values", err)
					continue
				}
				v = nv
			}
			vals = append(vals, v)
		}
		changes = append(changes, change{name, vals, mode})
	}
	key := metaKey(objectType, objectID, versionID)
	rec := c.s.st.Metadata[key]
	if len(fe) > 0 {
		return rec, fe
	}
	now := c.s.stamp()
	if rec == nil {
		rec = &metadataRecord{ObjectType: objectType, ObjectID: objectID, VersionID: versionID, Values: map[string][]any{}, DateCreated: now}
		c.s.st.Metadata[key] = rec
	}
	changed := map[string]map[string]any{}
	for _, ch := range changes {
		old := rec.Values[ch.name]
		var next []any
		switch ch.mode {
		case "overwrite":
			next = ch.vals
		case "append":
			next = append(append([]any{}, old...), ch.vals...)
		case "delete":
			for _, o := range old {
				if !slices.ContainsFunc(ch.vals, func(d any) bool { return valueString(d) == valueString(o) }) {
					next = append(next, o)
				}
			}
		}
		if validate {
			if f := c.s.st.Fields[ch.name]; f != nil && !f.Multi && len(next) > 1 {
				fe.add("metadata_values."+ch.name, "Field does not accept multiple values")
				return rec, fe
			}
		}
		if next == nil {
			next = []any{}
		}
		if reflect.DeepEqual(normalizeVals(old), normalizeVals(next)) {
			continue
		}
		rec.Values[ch.name] = next
		changed[ch.name] = map[string]any{"field_values": renderValues(next, false)}
	}
	rec.DateModified = now
	if len(changed) == 0 {
		return rec, nil
	}
	eventType := objectType
	if objectType != EventAssets && objectType != EventCollections {
		eventType = EventAssets
	}
	data := map[string]any{"object_id": objectID, "object_type": objectType, "metadata_values": changed,
		"date_created": rec.DateCreated, "date_modified": now}
	if versionID != "" {
		data["version_id"] = versionID
	}
	if viewID != "" {
		data["metadata_view_id"] = viewID
	}
	c.emit(eventType, RealmMetadata, OpUpdate, objectID, data)
	switch objectType {
	case "assets":
		if a := c.s.st.Assets[objectID]; a != nil {
			a.DateModified, a.UpdatedByUser = now, c.user
			c.addHistory(a.ID, versionID, "METADATA", "Metadata changed: "+strings.Join(sortedKeys(changed), ", "), "")
		}
	case "collections":
		if col := c.s.st.Collections[objectID]; col != nil {
			col.DateModified = now
		}
	}
	return rec, nil
}

func normalizeVals(v []any) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = valueString(x)
	}
	return out
}

// checkValue validates one value against its field definition and returns it normalised.
func checkValue(f *Field, v any) (any, string) {
	s, isStr := v.(string)
	switch f.FieldType {
	case "integer":
		switch x := v.(type) {
		case float64:
			if x != math.Trunc(x) {
				return nil, "Not a valid integer."
			}
			return x, ""
		case string:
			n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
			if err != nil {
				return nil, "Not a valid integer."
			}
			return float64(n), ""
		}
		return nil, "Not a valid integer."
	case "float":
		switch x := v.(type) {
		case float64:
			return x, ""
		case string:
			n, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil {
				return nil, "Not a valid number."
			}
			return n, ""
		}
		return nil, "Not a valid number."
	case "boolean":
		switch x := v.(type) {
		case bool:
			return x, ""
		case string:
			b, err := strconv.ParseBool(x)
			if err != nil {
				return nil, "Not a valid boolean."
			}
			return b, ""
		}
		return nil, "Not a valid boolean."
	case "date", "datetime":
		if !isStr || parseTime(s).IsZero() {
			return nil, "Not a valid " + f.FieldType + "."
		}
		return s, ""
	case "email":
		if _, err := mail.ParseAddress(s); !isStr || err != nil {
			return nil, "Not a valid email address."
		}
		return s, ""
	case "url":
		if u, err := url.Parse(s); !isStr || err != nil || u.Scheme == "" {
			return nil, "Not a valid URL."
		}
		return s, ""
	case "drop_down":
		if !isStr {
			return nil, "Not a valid string."
		}
		if len(f.Options) > 0 && !slices.ContainsFunc(f.Options, func(o FieldOption) bool { return o.Value == s }) {
			// UNCONFIRMED: iconik rejects a value that is not one of the options.
			return nil, fmt.Sprintf("%q is not one of the field's options", s)
		}
		return s, ""
	}
	if !isStr {
		return valueString(v), ""
	}
	return s, ""
}

func (c *call) bulkPutValues() (int, any) {
	objectType := c.path("object_type")
	fields, _, st, b, ok := c.viewFields(c.path("view_id"))
	if !ok {
		return st, b
	}
	var in struct {
		ObjectIDs      []string                `json:"object_ids"`
		MetadataValues map[string]fieldValueIn `json:"metadata_values"`
	}
	if st, b, ok := c.decode(&in); !ok {
		return st, b
	}
	if in.ObjectIDs == nil || in.MetadataValues == nil {
		return c.invalid("object_ids", "Missing data for required field.")
	}
	for _, id := range in.ObjectIDs {
		ver, st, b, ok := c.metaTarget(objectType, id, "")
		if !ok {
			return st, b
		}
		if _, fe := c.writeValues(objectType, id, ver, c.path("view_id"), fields, in.MetadataValues, true); len(fe) > 0 {
			return c.fieldErrors(fe)
		}
	}
	return http.StatusAccepted, nil
}

func (c *call) bulkPostValues() (int, any) {
	objectType := c.path("object_type")
	fields, _, st, b, ok := c.viewFields(c.path("view_id"))
	if !ok {
		return st, b
	}
	var in struct {
		ObjectIDs []string `json:"object_ids"`
		Mapping   []struct {
			ID             string                  `json:"id"`
			MetadataValues map[string]fieldValueIn `json:"metadata_values"`
		} `json:"metadata_values_object_id_mapping"`
	}
	if st, b, ok := c.decode(&in); !ok {
		return st, b
	}
	if in.Mapping == nil {
		return c.invalid("metadata_values_object_id_mapping", "Missing data for required field.")
	}
	for _, m := range in.Mapping {
		ver, st, b, ok := c.metaTarget(objectType, m.ID, "")
		if !ok {
			return st, b
		}
		if _, fe := c.writeValues(objectType, m.ID, ver, c.path("view_id"), fields, m.MetadataValues, true); len(fe) > 0 {
			return c.fieldErrors(fe)
		}
	}
	return http.StatusAccepted, nil
}

// valuesOf returns a copy of an object's values (latest version for assets).
func (s *Server) valuesOf(objectType, objectID string) map[string][]any {
	ver := ""
	if objectType == "assets" {
		if a := s.st.Assets[objectID]; a != nil {
			ver = latestVersionID(a)
		}
	}
	out := map[string][]any{}
	if rec := s.st.Metadata[metaKey(objectType, objectID, ver)]; rec != nil {
		for k, v := range rec.Values {
			out[k] = append([]any{}, v...)
		}
	}
	return out
}
