package chaintest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestNothingReadsTheWallClock backs the clock-step fault's claim (see
// faultTable): no code a deployment runs (the node, its master, servers,
// clients, storage, transports, the wire format) reads the wall clock, so
// a step of it changes nothing. Time enters that code only through
// time.Now, whose reading carries the monotonic clock, and durations
// computed from such readings (time.Since, Sub, Add, After, timers) use
// the monotonic reading alone. The check is syntactic, over every non-test
// file outside the harness, the commands, the benchmarks and the
// examples: no call of what reads or builds wall time (Unix, Format,
// Year... on a time, Round(0) or Truncate(0), which strip the monotonic
// reading, a file's ModTime, time.Unix, time.Date, time.Parse), and no
// time.Time in the wire format, which would carry a wall reading from
// one clock to another. A certificate's validity bounds (NotBefore,
// NotAfter) are data the certificate carries, not readings of this
// machine's clock: they may be formatted.
func TestNothingReadsTheWallClock(t *testing.T) {
	wallMethods := map[string]bool{
		"Unix": true, "UnixNano": true, "UnixMilli": true, "UnixMicro": true, "Format": true, "AppendFormat": true,
		"Year": true, "YearDay": true, "Month": true, "Weekday": true, "ISOWeek": true, "Clock": true,
		"UTC": true, "Local": true, "Zone": true, "ZoneBounds": true, "ModTime": true,
		"MarshalBinary": true, "MarshalText": true, "MarshalJSON": true, "GobEncode": true,
	}
	wallFuncs := map[string]bool{"Unix": true, "UnixMilli": true, "UnixMicro": true, "Date": true, "Parse": true, "ParseInLocation": true}
	// faultsuite, like chaintest, is a harness: it drives real processes
	// and reads their logs by wall time.
	skip := map[string]bool{"chaintest": true, "faultsuite": true, "cmd": true, "bench": true, "examples": true, "testdata": true}
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != ".." && (skip[d.Name()] || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		files++
		timeName := importName(f, "time")
		if timeName == "" {
			return nil
		}
		wire := filepath.Base(filepath.Dir(path)) == "wire"
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				pkg, isPkg := sel.X.(*ast.Ident)
				switch {
				case isPkg && pkg.Name == timeName:
					if wallFuncs[sel.Sel.Name] {
						t.Errorf("%s: time.%s builds a wall-clock time", fset.Position(n.Pos()), sel.Sel.Name)
					}
				case wallMethods[sel.Sel.Name] && !certificateTime(sel.X):
					t.Errorf("%s: .%s reads a wall-clock time", fset.Position(n.Pos()), sel.Sel.Name)
				case (sel.Sel.Name == "Round" || sel.Sel.Name == "Truncate") && len(n.Args) == 1 && isZero(n.Args[0]):
					t.Errorf("%s: .%s(0) strips the monotonic reading", fset.Position(n.Pos()), sel.Sel.Name)
				}
			case *ast.Field:
				if sel, ok := n.Type.(*ast.SelectorExpr); ok && wire && sel.Sel.Name == "Time" {
					if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == timeName {
						t.Errorf("%s: a time.Time in the wire format", fset.Position(n.Pos()))
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("checked only %d files: is the module root at ..?", files)
	}
}

// importName returns the name under which f imports path, or "".
func importName(f *ast.File, path string) string {
	for _, imp := range f.Imports {
		if strings.Trim(imp.Path.Value, `"`) != path {
			continue
		}
		if imp.Name != nil {
			return imp.Name.Name
		}
		return filepath.Base(path)
	}
	return ""
}

func isZero(e ast.Expr) bool {
	lit, ok := e.(*ast.BasicLit)
	return ok && lit.Value == "0"
}

// certificateTime reports whether x is a certificate's validity bound,
// such as c.Leaf.NotAfter, or a call on one, such as c.Leaf.NotAfter.UTC().
func certificateTime(x ast.Expr) bool {
	for {
		switch e := x.(type) {
		case *ast.CallExpr:
			x = e.Fun
		case *ast.SelectorExpr:
			if e.Sel.Name == "NotAfter" || e.Sel.Name == "NotBefore" {
				return true
			}
			x = e.X
		default:
			return false
		}
	}
}
