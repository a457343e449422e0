package httpapi_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vhupay/vhupay/internal/httpapi"
)

// docs/errors.md has one section per problem code the server can answer, with its statuses, and
// none for a code the server does not have: a code added to the table fails here until it is
// documented (the OpenAPI enum of Problem.code is generated from the same list).
func TestEveryProblemCodeIsDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/errors.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "\n## Problem codes\n")
	if start < 0 {
		t.Fatal(`docs/errors.md has no "## Problem codes" section`)
	}
	doc = doc[start+1:]
	if end := strings.Index(doc[3:], "\n## "); end >= 0 {
		doc = doc[:end+3]
	}
	sections := map[string]string{} // code → its first line
	for _, m := range regexp.MustCompile(`(?m)^### (\S+)\n(.*)$`).FindAllStringSubmatch(doc, -1) {
		sections[m[1]] = m[2]
	}
	known := map[string]bool{}
	for _, c := range httpapi.ProblemCodes() {
		known[c.Code] = true
		line, ok := sections[c.Code]
		if !ok {
			t.Errorf("docs/errors.md has no section \"### %s\": say when it happens and what the client should do", c.Code)
			continue
		}
		for _, st := range c.Statuses {
			if !strings.HasPrefix(line, "HTTP ") || !strings.Contains(strings.SplitN(line, ".", 2)[0], strconv.Itoa(st)) {
				t.Errorf("docs/errors.md, %s: the first sentence %q does not give its status %d (\"HTTP %d. ...\")", c.Code, line, st, st)
			}
		}
	}
	for code := range sections {
		if !known[code] {
			t.Errorf("docs/errors.md documents %q, which the server never answers", code)
		}
	}
	var order []string
	for _, m := range regexp.MustCompile(`(?m)^### (\S+)$`).FindAllStringSubmatch(doc, -1) {
		order = append(order, m[1])
	}
	if !slices.IsSorted(order) {
		t.Errorf("docs/errors.md: keep the problem codes in alphabetical order: %v", order)
	}
}

// Every code the package writes by itself (newAPIError, a Problem literal) is among
// ProblemCodes, so that it is in the OpenAPI enum and in docs/errors.md.
func TestEveryProblemCodeIsListed(t *testing.T) {
	known := map[string]bool{}
	for _, c := range httpapi.ProblemCodes() {
		known[c.Code] = true
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		// types is the stack of the enclosing composite literals' element types ("" when elided).
		var types []string
		var stack []ast.Node
		ast.Inspect(f, func(n ast.Node) bool {
			if n == nil {
				if top := stack[len(stack)-1]; top != nil {
					if _, ok := top.(*ast.CompositeLit); ok {
						types = types[:len(types)-1]
					}
				}
				stack = stack[:len(stack)-1]
				return true
			}
			stack = append(stack, n)
			var lit ast.Expr
			switch n := n.(type) {
			case *ast.CompositeLit:
				types = append(types, literalType(n, types))
			case *ast.CallExpr:
				if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "newAPIError" && len(n.Args) > 1 {
					lit = n.Args[1]
				}
			case *ast.KeyValueExpr:
				if k, ok := n.Key.(*ast.Ident); ok && k.Name == "Code" && len(types) > 0 && types[len(types)-1] == "Problem" {
					lit = n.Value
				}
			}
			if s, ok := lit.(*ast.BasicLit); ok && s.Kind == token.STRING {
				code, _ := strconv.Unquote(s.Value)
				if !known[code] {
					t.Errorf("%s: problem code %q is not in httpapi.ProblemCodes (add it to the error table or edgeErrors)", fset.Position(s.Pos()), code)
				}
			}
			return true
		})
	}
}

// literalType names a composite literal's type: Problem for Problem{...}, FieldError for the
// elements of []FieldError{{...}}.
func literalType(cl *ast.CompositeLit, enclosing []string) string {
	switch t := cl.Type.(type) {
	case *ast.Ident:
		return t.Name
	case *ast.ArrayType:
		if id, ok := t.Elt.(*ast.Ident); ok {
			return "[]" + id.Name
		}
	case nil:
		if len(enclosing) > 0 {
			return strings.TrimPrefix(enclosing[len(enclosing)-1], "[]")
		}
	}
	return ""
}
