package notebook

// BootstrapSource is the first cell of every notebook, identical everywhere
// ("dsgym sync --check" enforces it). Its shell line turns the kernel's
// temporary Go module into a copy of this repository's go.mod (same
// requirements, same versions) that requires the repository itself, replaced
// by the local checkout, and copies go.sum: every package of the course and
// of its dependencies then builds offline at the pinned versions, without the
// "go get" GoNB would otherwise run before every cell (%noautoget saves that
// ~0.4 s per cell; "%autoget" turns it back on for other modules). Linking
// without DWARF (%goflags -ldflags=-w) saves another ~0.3 s per cell; stack
// traces still work, they come from the symbol table.
//
// A shell line cannot fail a GoNB cell, so when the notebook is outside the
// repository the line prints what to do, and the import below then fails the
// cell, which stops "Run All" here.
const BootstrapSource = `// Bootstrap: run this first (and again after restarting the kernel).
!*GOMOD="$(cd "$GONB_DIR" && GOWORK=off go env GOMOD 2>/dev/null)"; \
  if [ -z "$GOMOD" ] || [ "$GOMOD" = /dev/null ] || ! grep -qx 'module github.com/dsgym/dsgym' "$GOMOD"; then \
    echo "dsgym: this notebook is in $GONB_DIR, which is not inside the dsgym repository. Open it from the repository's notebooks/ folder: clone the repository, run 'make lab' there, and use JupyterLab's file browser." >&2; \
  else \
    ROOT="$(dirname "$GOMOD")"; NAME="$(awk '/^module /{print $2; exit}' go.mod)"; \
    sed -e "s|^module .*|module $NAME|" -e '/^tool ($/,/^)$/d' -e '/^tool /d' "$GOMOD" > go.mod && \
    go mod edit -require=github.com/dsgym/dsgym@v0.0.0-00010101000000-000000000000 -replace=github.com/dsgym/dsgym="$ROOT" && \
    cp "$ROOT/go.sum" go.sum; \
  fi
%noautoget
%goflags -ldflags=-w
import "github.com/dsgym/dsgym/pkg/nb"

%%
nb.Ready()`

// BootstrapMetadata is the metadata of the bootstrap cell: its source is
// collapsed in JupyterLab (click the cell's left bar to read it), so a
// notebook opens on the "dsgym ready" line rather than on shell script.
func BootstrapMetadata() map[string]any {
	return map[string]any{
		"dsgym":   map[string]any{"role": "bootstrap"},
		"jupyter": map[string]any{"source_hidden": true},
	}
}
