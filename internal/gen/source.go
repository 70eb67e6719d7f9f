// Package gen turns the reference solutions in solutions/<topic> into what
// learners get: stub files in exercises/<topic>, exercise cells in the
// notebooks, and the reference source shown once an exercise is solved.
//
// A solution file marks what to hide with three directive comments inside a
// function body:
//
//	func Mean(xs []float64) (float64, error) {
//		//dsgym:solution
//		... the reference code ...
//		//dsgym:stub
//		// panic("not implemented yet: Mean: return the average of xs; an error when xs is empty")
//		//dsgym:end
//	}
//
// The stub lines are comments in the solution and become code in the
// exercise. A top-level declaration whose doc comment holds
// "//dsgym:exercise <topic>/<name>" belongs to that exercise's notebook
// cell; helpers the cell needs carry the same directive.
package gen

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/tools/go/ast/astutil"
)

// Module is the repository's module path.
const Module = "github.com/dsgym/dsgym"

const (
	dirSolution = "//dsgym:solution"
	dirStub     = "//dsgym:stub"
	dirEnd      = "//dsgym:end"
	dirExercise = "//dsgym:exercise"
)

// Form selects which side of the marked regions to keep.
type Form int

// The two forms of a solution file.
const (
	Solution Form = iota // the reference code; stub lines dropped
	Stub                 // the stub code; reference dropped
)

// File is one parsed solutions/<topic> Go file.
type File struct {
	Path  string // relative to the repository root, e.g. solutions/warmup/mean.go
	Topic string
	Src   []byte
	// Regions counts the solution regions in the file.
	Regions int
	// Exercises lists the exercise ids declared in the file, in order.
	Exercises []string
}

// LoadTopic reads every .go file of solutions/<topic>.
func LoadTopic(root, topic string) ([]*File, error) {
	dir := filepath.Join(root, "solutions", topic)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []*File
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		rel := filepath.ToSlash(filepath.Join("solutions", topic, e.Name()))
		src, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			return nil, err
		}
		f, err := ParseFile(rel, topic, src)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// Topics lists the directories under solutions/.
func Topics(root string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, "solutions"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// ParseFile checks a solution file's markers and finds its exercises.
func ParseFile(rel, topic string, src []byte) (*File, error) {
	f := &File{Path: rel, Topic: topic, Src: src}
	state := ""
	for i, line := range strings.Split(string(src), "\n") {
		t := strings.TrimSpace(line)
		switch {
		case t == dirSolution:
			if state != "" {
				return nil, fmt.Errorf("%s:%d: %s inside another region", rel, i+1, dirSolution)
			}
			state = "solution"
			f.Regions++
		case t == dirStub:
			if state != "solution" {
				return nil, fmt.Errorf("%s:%d: %s without a %s before it", rel, i+1, dirStub, dirSolution)
			}
			state = "stub"
		case t == dirEnd:
			if state != "stub" {
				return nil, fmt.Errorf("%s:%d: %s without a %s before it", rel, i+1, dirEnd, dirStub)
			}
			state = ""
		case state == "stub" && t != "" && !strings.HasPrefix(t, "//"):
			return nil, fmt.Errorf("%s:%d: stub lines must be comments (// ...) in the solution file", rel, i+1)
		case strings.HasPrefix(t, dirExercise+" "):
			id := strings.TrimSpace(strings.TrimPrefix(t, dirExercise))
			if !strings.HasPrefix(id, topic+"/") {
				return nil, fmt.Errorf("%s:%d: exercise %q must start with the topic %q", rel, i+1, id, topic+"/")
			}
			if !contains(f.Exercises, id) {
				f.Exercises = append(f.Exercises, id)
			}
		}
	}
	if state != "" {
		return nil, fmt.Errorf("%s: a region opened with %s is never closed with %s", rel, dirSolution, dirEnd)
	}
	return f, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// Text returns the file's source in the given form: the regions resolved
// to one side, nothing else changed.
func (f *File) Text(form Form) string {
	var out []string
	state := ""
	for _, line := range strings.Split(string(f.Src), "\n") {
		t := strings.TrimSpace(line)
		switch {
		case t == dirSolution:
			state = "solution"
			continue
		case t == dirStub:
			state = "stub"
			continue
		case t == dirEnd:
			state = ""
			continue
		}
		switch state {
		case "solution":
			if form == Solution {
				out = append(out, line)
			}
		case "stub":
			if form == Stub {
				out = append(out, uncomment(line))
			}
		default:
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

func uncomment(line string) string {
	i := strings.Index(line, "//")
	if i < 0 {
		return line
	}
	rest := line[i+2:]
	rest = strings.TrimPrefix(rest, " ")
	return line[:i] + rest
}

// ExerciseFile returns the generated exercises/<topic> file for f: the stub
// form, with imports of solutions/ rewritten to exercises/, unused imports
// removed, the exercise package imported when the stubs need it, a header
// saying where it came from, and gofmt applied.
func (f *File) ExerciseFile() ([]byte, error) {
	text := f.Text(Stub)
	text = strings.ReplaceAll(text, strconv.Quote(Module+"/solutions/"+f.Topic), strconv.Quote(Module+"/exercises/"+f.Topic))
	fixed, err := fixImports(f.Path, []byte(text))
	if err != nil {
		return nil, err
	}
	header := fmt.Sprintf("// Generated by dsgym sync from %s.\n// This is your exercise file: replace the stubs with your code. dsgym sync\n// leaves a file you have edited alone (see README, \"Exercises\").\n\n", f.Path)
	if f.Regions == 0 {
		header = fmt.Sprintf("// Generated by dsgym sync from %s (a copy: it holds no exercise).\n\n", f.Path)
	}
	return append([]byte(header), fixed...), nil
}

// fixImports removes unused imports, adds pkg/exercise when exercise.TODO is
// used without it, and formats the file.
func fixImports(name string, src []byte) ([]byte, error) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, name, src, parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("the generated stub for %s does not parse: %w", name, err)
	}
	used := usedPackageNames(file)
	for _, imp := range append([]*ast.ImportSpec(nil), file.Imports...) {
		path, _ := strconv.Unquote(imp.Path.Value)
		n := importName(imp)
		if n == "_" || n == "." {
			continue
		}
		if !used[n] {
			if imp.Name != nil {
				astutil.DeleteNamedImport(fset, file, imp.Name.Name, path)
			} else {
				astutil.DeleteImport(fset, file, path)
			}
		}
	}
	if used["exercise"] && !hasImportNamed(file, "exercise") {
		astutil.AddImport(fset, file, Module+"/pkg/exercise")
	}
	var buf bytes.Buffer
	if err := format.Node(&buf, fset, file); err != nil {
		return nil, err
	}
	return format.Source(buf.Bytes())
}

func importName(imp *ast.ImportSpec) string {
	if imp.Name != nil {
		return imp.Name.Name
	}
	path, _ := strconv.Unquote(imp.Path.Value)
	base := path[strings.LastIndex(path, "/")+1:]
	if strings.HasPrefix(base, "v") && len(base) > 1 && base[1] >= '0' && base[1] <= '9' {
		// ".../foo/v2" is package foo.
		trimmed := strings.TrimSuffix(path, "/"+base)
		base = trimmed[strings.LastIndex(trimmed, "/")+1:]
	}
	return strings.ReplaceAll(base, "-", "")
}

func hasImportNamed(file *ast.File, name string) bool {
	for _, imp := range file.Imports {
		if importName(imp) == name {
			return true
		}
	}
	return false
}

// usedPackageNames returns the identifiers used as X in X.Sel selectors that
// are not declared locally: the candidates for package names.
func usedPackageNames(node ast.Node) map[string]bool {
	used := map[string]bool{}
	ast.Inspect(node, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && id.Obj == nil {
				used[id.Name] = true
			}
		}
		return true
	})
	return used
}
