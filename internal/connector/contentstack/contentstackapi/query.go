package contentstackapi

import (
	"encoding/json"
	"fmt"
)

// Query is a query in Contentstack's JSON query language, sent URL-encoded
// as the query parameter: {"title": "x"}, {"_workflow.uid": "blt…"},
// {"updated_at": {"$gt": "2026-01-01T00:00:00.000Z"}}, {"$and": [...]}.
// Field paths use dots through groups, modular blocks
// (blocks_field.block_uid.field) and JSON fields.
type Query map[string]any

// Eq matches a field equal to v (an array field matches when any element does).
func Eq(field string, v any) Query { return Query{field: v} }

// Op applies an operator ($ne, $in, $nin, $lt, $lte, $gt, $gte, $exists, $regex).
func Op(field, op string, v any) Query { return Query{field: map[string]any{op: v}} }

// In matches a field equal to any of vals.
func In(field string, vals ...any) Query { return Op(field, "$in", vals) }

// Gt matches a field greater than v (ISO dates compare as strings).
func Gt(field string, v any) Query { return Op(field, "$gt", v) }

// Gte matches a field greater than or equal to v.
func Gte(field string, v any) Query { return Op(field, "$gte", v) }

// Exists matches entries that have (or lack) a field.
func Exists(field string, ok bool) Query { return Op(field, "$exists", ok) }

// And combines queries; nil and empty ones are dropped.
func And(qs ...Query) Query { return combine("$and", qs) }

// Or matches when any query matches.
func Or(qs ...Query) Query { return combine("$or", qs) }

func combine(op string, qs []Query) Query {
	var list []any
	for _, q := range qs {
		if len(q) > 0 {
			list = append(list, map[string]any(q))
		}
	}
	switch len(list) {
	case 0:
		return nil
	case 1:
		return Query(list[0].(map[string]any))
	}
	return Query{op: list}
}

// Encode returns the query parameter value (compact JSON).
func (q Query) Encode() (string, error) {
	if len(q) == 0 {
		return "", nil
	}
	b, err := json.Marshal(map[string]any(q))
	if err != nil {
		return "", fmt.Errorf("encoding query: %w", err)
	}
	return string(b), nil
}
