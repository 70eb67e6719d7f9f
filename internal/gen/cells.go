package gen

import (
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"sort"
	"strconv"

	"strings"
)

// Decls returns the source of exercise id's declarations in the given form,
// and the import specs they need ("path" or `name "path"`), in source order.
// It fails when a declaration uses a package-level name of the topic that is
// not part of the exercise: the notebook cell would not compile.
func Decls(files []*File, id string, form Form) (decls []string, imports []string, err error) {
	topLevel := map[string]bool{}
	type parsed struct {
		f    *File
		fset *token.FileSet
		ast  *ast.File
		src  string
	}
	var all []parsed
	for _, f := range files {
		src := f.Text(form)
		fset := token.NewFileSet()
		af, perr := parser.ParseFile(fset, f.Path, src, parser.ParseComments)
		if perr != nil {
			return nil, nil, fmt.Errorf("%s (%s form) does not parse: %w", f.Path, formName(form), perr)
		}
		for _, d := range af.Decls {
			for _, n := range declNames(d) {
				topLevel[n] = true
			}
		}
		all = append(all, parsed{f, fset, af, src})
	}
	declared := map[string]bool{}
	var used []ast.Node
	importSet := map[string]bool{}
	for _, p := range all {
		if !contains(p.f.Exercises, id) {
			continue
		}
		for _, d := range p.ast.Decls {
			doc := declDoc(d)
			if doc == nil || !hasDirective(doc, id) {
				continue
			}
			start := p.fset.Position(doc.Pos()).Offset
			end := p.fset.Position(d.End()).Offset
			decls = append(decls, stripDirectives(p.src[start:end]))
			for _, n := range declNames(d) {
				declared[n] = true
			}
			used = append(used, d)
			names := usedPackageNames(d)
			for _, imp := range p.ast.Imports {
				if names[importName(imp)] {
					spec := imp.Path.Value
					if imp.Name != nil {
						spec = imp.Name.Name + " " + spec
					}
					importSet[spec] = true
				}
			}
			if names["exercise"] && !hasImportNamed(p.ast, "exercise") {
				// Stubs call exercise.TODO, which solution files cannot import
				// (the stub lines are comments there).
				importSet[strconv.Quote(Module+"/pkg/exercise")] = true
			}
		}
	}
	if len(decls) == 0 {
		return nil, nil, fmt.Errorf("no declaration is marked %s %s", dirExercise, id)
	}
	var missing []string
	for _, d := range used {
		ast.Inspect(d, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.SelectorExpr:
				ast.Inspect(x.X, func(m ast.Node) bool { return checkIdent(m, topLevel, declared, &missing) })
				return false
			case *ast.KeyValueExpr:
				ast.Inspect(x.Value, func(m ast.Node) bool { return checkIdent(m, topLevel, declared, &missing) })
				return false
			}
			return checkIdent(n, topLevel, declared, &missing)
		})
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, nil, fmt.Errorf("exercise %s uses %s from its package without marking it %s %s: the notebook cell would not compile",
			id, strings.Join(dedupe(missing), ", "), dirExercise, id)
	}
	for spec := range importSet {
		imports = append(imports, spec)
	}
	sort.Strings(imports)
	return decls, imports, nil
}

func checkIdent(n ast.Node, topLevel, declared map[string]bool, missing *[]string) bool {
	if id, ok := n.(*ast.Ident); ok && topLevel[id.Name] && !declared[id.Name] {
		*missing = append(*missing, id.Name)
	}
	return true
}

func dedupe(xs []string) []string {
	var out []string
	for i, x := range xs {
		if i == 0 || xs[i-1] != x {
			out = append(out, x)
		}
	}
	return out
}

func formName(f Form) string {
	if f == Stub {
		return "stub"
	}
	return "solution"
}

func declDoc(d ast.Decl) *ast.CommentGroup {
	switch x := d.(type) {
	case *ast.FuncDecl:
		return x.Doc
	case *ast.GenDecl:
		return x.Doc
	}
	return nil
}

func declNames(d ast.Decl) []string {
	var out []string
	switch x := d.(type) {
	case *ast.FuncDecl:
		if x.Recv == nil {
			out = append(out, x.Name.Name)
		}
	case *ast.GenDecl:
		for _, s := range x.Specs {
			switch sp := s.(type) {
			case *ast.TypeSpec:
				out = append(out, sp.Name.Name)
			case *ast.ValueSpec:
				for _, n := range sp.Names {
					out = append(out, n.Name)
				}
			}
		}
	}
	return out
}

func hasDirective(doc *ast.CommentGroup, id string) bool {
	for _, c := range doc.List {
		if strings.TrimSpace(c.Text) == dirExercise+" "+id {
			return true
		}
	}
	return false
}

// stripDirectives drops //dsgym: directive lines (and a "//" line left
// dangling right before one) from a declaration's text.
func stripDirectives(s string) string {
	lines := strings.Split(s, "\n")
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "//dsgym:") {
			if n := len(out); n > 0 && strings.TrimSpace(out[n-1]) == "//" {
				out = out[:n-1]
			}
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// CellSource is the text of exercise id's notebook cell in the given form:
// a comment saying what to do, the imports, and the declarations.
func CellSource(files []*File, id, title, task string, form Form) (string, error) {
	// The solution form must compile on its own too (dsgym nb fill
	// --solutions puts it in the cell), even when the stub needs less.
	if form == Stub {
		if _, _, err := Decls(files, id, Solution); err != nil {
			return "", err
		}
	}
	decls, imports, err := Decls(files, id, form)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "// Exercise %s: %s\n// Task: %s\n", id, title, task)
	if form == Stub {
		b.WriteString("// Replace the stub with your code, run this cell, then run the check below.\n")
	} else {
		b.WriteString("// (Reference solution, filled in by dsgym nb fill --solutions.)\n")
	}
	if len(imports) > 0 {
		b.WriteString("\nimport (\n")
		for _, imp := range imports {
			b.WriteString("\t" + imp + "\n")
		}
		b.WriteString(")\n")
	}
	for _, d := range decls {
		b.WriteString("\n" + strings.TrimRight(d, "\n") + "\n")
	}
	return strings.TrimRight(b.String(), "\n"), nil
}

// SolutionSource is the reference code of exercise id, formatted, for
// showing once the exercise is solved.
func SolutionSource(files []*File, id string) (string, error) {
	decls, imports, err := Decls(files, id, Solution)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if len(imports) > 0 {
		b.WriteString("import (\n")
		for _, imp := range imports {
			b.WriteString("\t" + imp + "\n")
		}
		b.WriteString(")\n\n")
	}
	b.WriteString(strings.Join(decls, "\n\n"))
	out, err := format.Source([]byte("package x\n\n" + b.String()))
	if err != nil {
		return b.String(), nil
	}
	return strings.TrimPrefix(string(out), "package x\n\n"), nil
}

// FindExercise returns the topic files holding exercise id.
func FindExercise(root, id string) ([]*File, error) {
	topic, _, ok := strings.Cut(id, "/")
	if !ok {
		return nil, fmt.Errorf("exercise id %q is not <topic>/<name>", id)
	}
	files, err := LoadTopic(root, topic)
	if err != nil {
		return nil, fmt.Errorf("exercise %s: %w", id, err)
	}
	for _, f := range files {
		if contains(f.Exercises, id) {
			return files, nil
		}
	}
	return nil, fmt.Errorf("no file in solutions/%s declares exercise %s", topic, id)
}
