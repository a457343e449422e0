package archtest

import (
	"go/ast"
	"go/types"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
)

const module = "github.com/vhupay/vhupay/internal/"

// aggregates are the types whose Status field only their own methods may assign: every change
// of status goes through a guarded transition that refuses an illegal move.
var aggregates = []struct{ pkg, name string }{
	{"payments", "Intent"},
	{"orders", "Order"},
	{"sepa", "Mandate"},
	{"collections", "Collection"},
	{"invoicing", "Statement"},
	{"payouts", "Payout"},
	{"refunds", "Refund"},
	{"disputes", "Dispute"},
}

// TestStatusOnlyThroughTransitions fails when a Status field of an intent, order, mandate, refund,
// collection or statement is assigned (x.Status = ..., x.Status, y = ..., x.Status++) outside
// the methods of its own type, anywhere in the repository's non-test code. Building values
// (composite literals) and reading rows back are not assignments.
func TestStatusOnlyThroughTransitions(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks the whole repository")
	}
	cfg := &packages.Config{Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes |
		packages.NeedTypesInfo, Dir: "../.."}
	pkgs, err := packages.Load(cfg, "./...")
	if err != nil {
		t.Fatal(err)
	}
	guarded := map[string]bool{} // "pkg.Type" of each aggregate
	for _, p := range pkgs {
		for _, a := range aggregates {
			if p.PkgPath != module+a.pkg {
				continue
			}
			obj := p.Types.Scope().Lookup(a.name)
			if obj == nil {
				t.Fatalf("%s.%s not found", a.pkg, a.name)
			}
			if f, _, _ := types.LookupFieldOrMethod(obj.Type(), false, p.Types, "Status"); f == nil {
				t.Fatalf("%s.%s has no Status field", a.pkg, a.name)
			}
			guarded[a.pkg+"."+a.name] = true
		}
	}
	if len(guarded) != len(aggregates) {
		t.Fatalf("found %d of the %d aggregates", len(guarded), len(aggregates))
	}
	checked := 0
	for _, p := range pkgs {
		for _, e := range p.Errors {
			t.Errorf("%s: %v", p.PkgPath, e)
		}
		for _, file := range p.Syntax {
			for _, decl := range file.Decls {
				fn, ok := decl.(*ast.FuncDecl)
				if !ok || fn.Body == nil {
					continue
				}
				owner := receiverType(p.TypesInfo, fn)
				checked++
				ast.Inspect(fn.Body, func(n ast.Node) bool {
					var lhs []ast.Expr
					switch s := n.(type) {
					case *ast.AssignStmt:
						lhs = s.Lhs
					case *ast.IncDecStmt:
						lhs = []ast.Expr{s.X}
					default:
						return true
					}
					for _, e := range lhs {
						sel, ok := ast.Unparen(e).(*ast.SelectorExpr)
						if !ok {
							continue
						}
						s := p.TypesInfo.Selections[sel]
						if s == nil || s.Kind() != types.FieldVal || sel.Sel.Name != "Status" {
							continue
						}
						if agg := fieldOwner(s); guarded[agg] && owner != agg {
							t.Errorf("%s: %s assigns the status of a %s outside its methods: use one of its transitions",
								p.Fset.Position(sel.Pos()), fn.Name.Name, agg)
						}
					}
					return true
				})
			}
		}
	}
	if checked < 100 {
		t.Fatalf("only %d functions checked: the packages did not load", checked)
	}
}

// fieldOwner returns "pkg.Type" of the struct type that declares the field s selects (through
// embedded fields), "" when it is not a named type of this module's internal packages.
func fieldOwner(s *types.Selection) string {
	typ := s.Recv()
	var owner types.Type
	for _, k := range s.Index() {
		if ptr, ok := types.Unalias(typ).(*types.Pointer); ok {
			typ = ptr.Elem()
		}
		st, ok := typ.Underlying().(*types.Struct)
		if !ok {
			return ""
		}
		owner, typ = typ, st.Field(k).Type()
	}
	return internalName(owner)
}

// receiverType returns "pkg.Type" for a method of a type of this module's internal packages, ""
// otherwise.
func receiverType(info *types.Info, fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return ""
	}
	tv, ok := info.Types[fn.Recv.List[0].Type]
	if !ok {
		return ""
	}
	typ := tv.Type
	if ptr, ok := typ.(*types.Pointer); ok {
		typ = ptr.Elem()
	}
	return internalName(typ)
}

// internalName returns "pkg.Type" for a named type of this module's internal packages, ""
// otherwise.
func internalName(typ types.Type) string {
	named, ok := types.Unalias(typ).(*types.Named)
	if !ok || named.Obj().Pkg() == nil {
		return ""
	}
	path := named.Obj().Pkg().Path()
	if len(path) <= len(module) || path[:len(module)] != module {
		return ""
	}
	return path[len(module):] + "." + named.Obj().Name()
}

// TestTransactionsOnlyInStorage fails when a package other than storage (and the job queue, whose
// River driver works on *sql.Tx handed over by storage's units) imports gorm or database/sql:
// business code reaches transactions only through its unit of work (txn.Runner).
func TestTransactionsOnlyInStorage(t *testing.T) {
	pkgs, err := packages.Load(&packages.Config{Mode: packages.NeedName | packages.NeedImports, Dir: "../.."}, "./...")
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{module + "storage": true, module + "jobs": true}
	for _, p := range pkgs {
		if allowed[p.PkgPath] {
			continue
		}
		for path := range p.Imports {
			if path == "database/sql" || path == "gorm.io/gorm" || strings.HasPrefix(path, "gorm.io/") {
				t.Errorf("%s imports %s: use the capability's unit of work (txn.Runner) instead", p.PkgPath, path)
			}
		}
	}
}

// TestAdaptersDependOnPorts fails when an adapter imports another adapter instead of a port: the
// HTTP layer imports no provider or partner adapter and no storage (app injects them), and the
// providers do not import each other.
func TestAdaptersDependOnPorts(t *testing.T) {
	pkgs, err := packages.Load(&packages.Config{Mode: packages.NeedName | packages.NeedImports, Dir: "../.."}, "./internal/...")
	if err != nil {
		t.Fatal(err)
	}
	forbidden := map[string][]string{
		"httpapi":      {"psp/mangopay", "psp/sandbox", "scoring/sandbox", "scoring/infolegale", "storage"},
		"psp/sandbox":  {"psp/mangopay"},
		"psp/mangopay": {"psp/sandbox"},
	}
	for _, p := range pkgs {
		for _, imp := range forbidden[strings.TrimPrefix(p.PkgPath, module)] {
			if _, ok := p.Imports[module+imp]; ok {
				t.Errorf("%s imports %s: depend on the port, injected from app", p.PkgPath, imp)
			}
		}
	}
}
