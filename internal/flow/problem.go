package flow

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Problem codes. They are stable: scripts and editors match on them, and
// docs/flows.md lists them with their meaning.
const (
	CodeYAMLSyntax       = "yaml-syntax"
	CodeUnknownKey       = "unknown-key"
	CodeMissingKey       = "missing-key"
	CodeBadName          = "bad-name"
	CodeBadValue         = "bad-value"
	CodeBadParam         = "bad-param"
	CodeUnknownParam     = "unknown-param"
	CodeUnknownRole      = "unknown-role"
	CodeUnknownConnector = "unknown-connector"
	CodeUnknownAction    = "unknown-action"
	CodeUnknownTrigger   = "unknown-trigger"
	CodeUnknownStepKind  = "unknown-step-kind"
	CodeStepKindConflict = "step-kind-conflict"
	CodeMissingInput     = "missing-input"
	CodeUnknownInput     = "unknown-input"
	CodeTypeMismatch     = "type-mismatch"
	CodeBadExpression    = "bad-expression"
	CodeUnknownStepRef   = "unknown-step-ref"
	CodeLaterStepRef     = "later-step-ref"
	CodeDuplicateStepID  = "duplicate-step-id"
	CodeBadDuration      = "bad-duration"
	CodeBadCron          = "bad-cron"
	CodeEmptyBlock       = "empty-block"
)

// Codes lists every problem code in the order docs/flows.md gives them.
var Codes = []string{
	CodeYAMLSyntax, CodeUnknownKey, CodeMissingKey, CodeBadName, CodeBadValue, CodeBadParam,
	CodeUnknownParam, CodeUnknownRole, CodeUnknownConnector, CodeUnknownAction, CodeUnknownTrigger,
	CodeUnknownStepKind, CodeStepKindConflict, CodeMissingInput, CodeUnknownInput, CodeTypeMismatch,
	CodeBadExpression, CodeUnknownStepRef, CodeLaterStepRef, CodeDuplicateStepID, CodeBadDuration,
	CodeBadCron, CodeEmptyBlock,
}

// Problem is one thing wrong with a flow file, located in the file.
type Problem struct {
	File      string
	Line, Col int
	Code      string
	Message   string
	Hint      string
}

// String renders the problem as "file:line:col: error[code]: message", plus a
// second line "\thint: …" when there is a hint.
func (p Problem) String() string {
	line, col := max(p.Line, 1), max(p.Col, 1)
	s := fmt.Sprintf("%s:%d:%d: error[%s]: %s", p.File, line, col, p.Code, p.Message)
	if p.Hint != "" {
		s += "\n\thint: " + p.Hint
	}
	return s
}

// Problems is every problem found in a flow file, sorted by position. It is
// the error Load returns.
type Problems []Problem

func (ps Problems) Error() string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Sort orders the problems by file, position, code and message, and drops
// exact duplicates.
func (ps *Problems) Sort() {
	slices.SortStableFunc(*ps, func(a, b Problem) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Col, b.Col),
			cmp.Compare(a.Code, b.Code),
			cmp.Compare(a.Message, b.Message),
		)
	})
	*ps = slices.Compact(*ps)
}

// Has reports whether any problem has the code.
func (ps Problems) Has(code string) bool {
	return slices.ContainsFunc(ps, func(p Problem) bool { return p.Code == code })
}

// closest returns the candidate nearest to s by edit distance, if it is near
// enough to be a plausible typo.
func closest(s string, candidates []string) (string, bool) {
	best, bestD := "", -1
	for _, c := range candidates {
		d := editDistance(s, c)
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD < 0 || bestD > max(len(s), len(best))/2 {
		return "", false
	}
	return best, true
}

// suggest is a hint naming the closest candidate, or listing them all.
func suggest(s string, candidates []string, what string) string {
	if c, ok := closest(s, candidates); ok {
		return fmt.Sprintf("did you mean %q?", c)
	}
	if len(candidates) == 0 {
		return ""
	}
	return what + ": " + strings.Join(candidates, ", ")
}

// editDistance is the Levenshtein distance between a and b, over bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
