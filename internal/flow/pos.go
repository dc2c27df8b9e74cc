package flow

import (
	"bytes"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// This file locates things in the source: a byte offset inside a decoded YAML
// scalar (for expression errors), and YAML syntax errors, whose positions
// yaml.v3 reports only roughly.

// locator maps byte offsets of a scalar's decoded value to file positions.
// It holds a mark at each rune of the value whose place in the source is
// known, so looking up many offsets (one per expression) stays cheap.
type locator struct {
	base  Pos // the scalar's own position: the fallback
	marks []mark
}

type mark struct {
	off int
	pos Pos
}

// at returns the position of byte offset off of the decoded value.
func (l *locator) at(off int) Pos {
	i := sort.Search(len(l.marks), func(i int) bool { return l.marks[i].off > off }) - 1
	if i < 0 || off <= 0 {
		return l.base
	}
	return l.marks[i].pos
}

// locate builds the locator of scalar n. It is exact for single-line plain,
// single- and double-quoted scalars. For block scalars (| and >) and flow
// scalars that span lines it finds each source line's text in the decoded
// value, in order; that is exact for literal blocks (|) and for the lines
// YAML did not fold, and an offset on a line it cannot match (a
// double-quoted line with escapes, say) gets the position of the last line
// it could.
func (p *parser) locate(n *yaml.Node) *locator {
	l := &locator{base: Pos{Line: n.Line, Col: n.Column}}
	if n.Line < 1 || n.Line > len(p.lines) {
		return l
	}
	line := p.lines[n.Line-1]
	start := byteIndex(line, n.Column-1)
	switch {
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		l.anchor(n.Value, p.blockSpans(n), false)
	case n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0:
		if !l.quoted(line[start:], n.Line, n.Column) {
			l.marks = l.marks[:0]
			l.anchor(n.Value, p.flowSpans(n, start+1), true)
		}
	default:
		if strings.HasPrefix(line[start:], n.Value) {
			l.span(0, span{line: n.Line, col: n.Column, text: n.Value})
		} else {
			l.anchor(n.Value, p.flowSpans(n, start), true)
		}
	}
	return l
}

// span marks each rune of s.text, found at decoded offset off.
func (l *locator) span(off int, s span) {
	col := s.col
	for i := range s.text {
		l.marks = append(l.marks, mark{off: off + i, pos: Pos{Line: s.line, Col: col}})
		col++
	}
	l.marks = append(l.marks, mark{off: off + len(s.text), pos: Pos{Line: s.line, Col: col}})
}

// byteIndex converts a 0-based rune column into a byte index of line.
func byteIndex(line string, col int) int {
	i := 0
	for col > 0 && i < len(line) {
		_, size := utf8.DecodeRuneInString(line[i:])
		i += size
		col--
	}
	return i
}

// quoted marks a single-line quoted scalar; raw starts at its opening quote.
// It reports false when the scalar continues on the next line.
func (l *locator) quoted(raw string, line, col int) bool {
	if raw == "" || (raw[0] != '"' && raw[0] != '\'') {
		return false
	}
	quote := raw[0]
	j, d, c := 1, 0, col+1
	for j < len(raw) {
		ch := raw[j]
		l.marks = append(l.marks, mark{off: d, pos: Pos{Line: line, Col: c}})
		switch {
		case quote == '\'' && ch == '\'':
			if j+1 < len(raw) && raw[j+1] == '\'' {
				d, j, c = d+1, j+2, c+2
				continue
			}
			return true
		case quote == '"' && ch == '"':
			return true
		case quote == '"' && ch == '\\':
			if j+1 >= len(raw) {
				return false
			}
			r, width := unescape(raw[j+1:])
			if width == 0 {
				return false
			}
			d += utf8.RuneLen(r)
			j += 1 + width
			c += 1 + width
			continue
		}
		_, size := utf8.DecodeRuneInString(raw[j:])
		d, j, c = d+size, j+size, c+1
	}
	return false
}

// unescape decodes the double-quoted escape at the start of s (after the
// backslash), returning the rune and how many bytes of s it used.
func unescape(s string) (rune, int) {
	hex := map[byte]int{'x': 2, 'u': 4, 'U': 8}
	if n, ok := hex[s[0]]; ok {
		if len(s) < 1+n {
			return 0, 0
		}
		v, err := strconv.ParseUint(s[1:1+n], 16, 32)
		if err != nil {
			return 0, 0
		}
		return rune(v), 1 + n
	}
	simple := map[byte]rune{
		'0': 0, 'a': '\a', 'b': '\b', 't': '\t', '\t': '\t', 'n': '\n', 'v': '\v', 'f': '\f',
		'r': '\r', 'e': 0x1b, ' ': ' ', '"': '"', '/': '/', '\\': '\\', 'N': 0x85, '_': 0xa0,
		'L': 0x2028, 'P': 0x2029,
	}
	if r, ok := simple[s[0]]; ok {
		return r, 1
	}
	return 0, 0
}

// span is one source line's share of a scalar: the text and where it starts.
type span struct {
	line, col int
	text      string
}

// anchor marks the spans' texts where they are found in value, in order.
// With contiguous, the first span not found ends the scalar.
func (l *locator) anchor(value string, spans []span, contiguous bool) {
	cursor := 0
	for _, s := range spans {
		if s.text == "" {
			continue
		}
		i := strings.Index(value[cursor:], s.text)
		if i < 0 && contiguous {
			return
		}
		if i < 0 {
			continue
		}
		l.span(cursor+i, s)
		cursor += i + len(s.text)
	}
}

// blockSpans lists the content lines of a block scalar without their
// indentation.
func (p *parser) blockSpans(n *yaml.Node) []span {
	var spans []span
	indent := -1
	for ln := n.Line + 1; ln <= len(p.lines); ln++ {
		text := p.lines[ln-1]
		trimmed := strings.TrimLeft(text, " ")
		if strings.TrimSpace(text) == "" {
			continue
		}
		lead := len(text) - len(trimmed)
		if indent < 0 {
			indent = lead
		}
		if lead < indent {
			break
		}
		spans = append(spans, span{line: ln, col: indent + 1, text: text[indent:]})
	}
	return spans
}

// flowSpans lists the lines of a plain or quoted scalar that spans lines:
// the first from its start, the others without leading white space. YAML
// folds each line break into at least one space, which bounds the lines.
func (p *parser) flowSpans(n *yaml.Node, start int) []span {
	first := p.lines[n.Line-1]
	start = min(start, len(first))
	spans := []span{{line: n.Line, col: utf8.RuneCountInString(first[:start]) + 1, text: strings.TrimRight(first[start:], " ")}}
	quote := byte(0)
	if n.Style&yaml.DoubleQuotedStyle != 0 {
		quote = '"'
	} else if n.Style&yaml.SingleQuotedStyle != 0 {
		quote = '\''
	}
	last := min(len(p.lines), n.Line+strings.Count(n.Value, " ")+strings.Count(n.Value, "\n")+1)
	for ln := n.Line + 1; ln <= last; ln++ {
		text := p.lines[ln-1]
		trimmed := strings.TrimLeft(text, " \t")
		col := utf8.RuneCountInString(text[:len(text)-len(trimmed)]) + 1
		trimmed = strings.TrimRight(trimmed, " ")
		if quote != 0 {
			if i := strings.LastIndexByte(trimmed, quote); i >= 0 {
				trimmed = trimmed[:i]
			}
		}
		spans = append(spans, span{line: ln, col: col, text: trimmed})
	}
	return spans
}

// Messages yaml.v3's parser (as opposed to its scanner) produces. Their
// "line N" is 0-based; the scanner's is 1-based.
var yamlParserErrors = []string{
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"did not find expected <document start>",
	"did not find expected key",
	"did not find expected node content",
	"found duplicate %TAG directive",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found undefined tag handle",
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): `)

// yamlMessage splits a yaml.v3 error into its message and reported line
// (0 when it gives none).
func yamlMessage(err error) (string, int) {
	msg := err.Error()
	line := 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	return msg, line
}

// syntaxProblem turns a YAML error into a located problem. yaml.v3 reports
// the line of the enclosing construct, sometimes 0-based, sometimes not at
// all, so the line is found again by parsing ever shorter prefixes of the
// file: the shortest prefix that fails with the same message ends on the
// line at fault.
func (p *parser) syntaxProblem(err error) Problem {
	msg, line := yamlMessage(err)
	for _, pe := range yamlParserErrors {
		if msg == pe && line > 0 {
			line++
		}
	}
	if found := p.failingLine(msg); found > 0 {
		line = found
	}
	line = max(line, 1)
	col := 1
	if line <= len(p.lines) {
		text := p.lines[line-1]
		col = utf8.RuneCountInString(text[:len(text)-len(strings.TrimLeft(text, " "))]) + 1
	}
	pr := Problem{File: p.file, Line: line, Col: col, Code: CodeYAMLSyntax, Message: msg}
	if ln, c, inFlow, ok := p.unquotedExpr(line); ok {
		pr.Line, pr.Col = ln, c
		if inFlow {
			pr.Hint = `quote expressions inside { } and [ ]: "${{ … }}" (YAML reads the braces itself)`
		} else {
			pr.Hint = `quote the expression, "${{ … }}", or write it as a block scalar (key: >-): YAML reads ": " and " #" inside a plain value itself`
		}
		return pr
	}
	switch {
	case strings.Contains(msg, "tab character") || strings.Contains(msg, "cannot start any token") && line <= len(p.lines) && strings.HasPrefix(strings.TrimLeft(p.lines[line-1], " "), "\t"):
		pr.Hint = "indent with spaces: YAML does not allow tabs"
	case strings.Contains(msg, "did not find expected key") || strings.Contains(msg, "did not find expected '-' indicator"):
		pr.Hint = "check the indentation of this line against the lines above"
	case strings.Contains(msg, "unexpected end of stream"):
		pr.Hint = "a quote or bracket opened here is never closed"
	case strings.Contains(msg, "mapping values are not allowed"):
		pr.Hint = `quote a value that contains ": "`
	}
	return pr
}

// failingLine finds the last line of the shortest prefix of the file that
// fails to parse with msg, by bisection (0 when none does).
func (p *parser) failingLine(msg string) int {
	fails := func(k int) bool {
		var buf bytes.Buffer
		for _, l := range p.lines[:k] {
			buf.WriteString(l)
			buf.WriteByte('\n')
		}
		var n yaml.Node
		err := yaml.Unmarshal(buf.Bytes(), &n)
		if err == nil {
			return false
		}
		m, _ := yamlMessage(err)
		return m == msg
	}
	lo, hi := 1, len(p.lines)
	if hi == 0 || !fails(hi) {
		return 0
	}
	for lo < hi {
		mid := (lo + hi) / 2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// unquotedExpr looks for a ${{ that is not inside quotes on line, or inside a
// flow collection ({ } or [ ]) on one of the three lines before it: the usual
// cause of a YAML error in a flow file. It returns the last one found.
func (p *parser) unquotedExpr(line int) (ln, col int, inFlow, ok bool) {
	depth := 0
	for l := max(1, line-3); l <= line && l <= len(p.lines); l++ {
		text := p.lines[l-1]
		var quote byte
		for i := 0; i < len(text); i++ {
			c := text[i]
			if quote != 0 {
				switch {
				case quote == '"' && c == '\\':
					i++
				case c == quote:
					quote = 0
				}
				continue
			}
			switch {
			case strings.HasPrefix(text[i:], "${{"):
				if l == line || depth > 0 {
					ln, col, inFlow, ok = l, utf8.RuneCountInString(text[:i])+1, depth > 0, true
				}
				if end := strings.Index(text[i:], "}}"); end >= 0 {
					i += end + 1
				} else {
					i = len(text)
				}
			case c == '"' || c == '\'':
				if i == 0 || strings.ContainsRune(" \t[{,:", rune(text[i-1])) {
					quote = c
				}
			case c == '{' || c == '[':
				depth++
			case c == '}' || c == ']':
				depth = max(0, depth-1)
			case c == '#' && (i == 0 || text[i-1] == ' '):
				i = len(text)
			}
		}
	}
	return ln, col, inFlow, ok
}
