package notebook

import (
	"encoding/json"
	"strings"
	"testing"
)

const sample = `##cell code {"dsgym": {"role": "bootstrap"}}
x
##cell markdown
# Title

text
##cell code {"tags": ["raises-exception"]}
%%
fmt.Println("##cell inside a string is fine when not at line start")
`

func TestTextRoundTripsThroughTheNotebookForm(t *testing.T) {
	nb, err := ParseText(sample)
	if err != nil {
		t.Fatal(err)
	}
	if len(nb.Cells) != 3 || nb.Cells[1].Source != "# Title\n\ntext" || nb.Cells[0].Role() != "bootstrap" {
		t.Fatalf("parsed cells: %+v", nb.Cells)
	}
	if tags := nb.Cells[2].Tags(); len(tags) != 1 || tags[0] != "raises-exception" {
		t.Errorf("tags = %v", tags)
	}
	data, err := nb.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if back.Text() != nb.Text() {
		t.Errorf("round trip changed the notebook:\n%s\nvs\n%s", back.Text(), nb.Text())
	}
	// Jupyter's layout: sorted keys, indent 1, sources as lists of lines.
	if !strings.Contains(string(data), "\"source\": [\n    \"# Title\\n\",") || !strings.HasPrefix(string(data), "{\n \"cells\": [") {
		t.Errorf("not in Jupyter's layout:\n%s", data)
	}
}

func TestNormalizeStripsOutputsAndRunState(t *testing.T) {
	raw := `{"nbformat": 4, "nbformat_minor": 4, "metadata": {"kernelspec": {"name": "python3"}, "title": "x"},
	  "cells": [{"cell_type": "code", "metadata": {"execution": {"a": 1}, "scrolled": true, "tags": ["t"]},
	  "source": ["a\n", "b\n"], "outputs": [{"output_type": "stream", "name": "stdout", "text": "hi"}], "execution_count": 3},
	  {"cell_type": "code", "id": "dup", "metadata": {}, "source": "c", "outputs": [], "execution_count": null},
	  {"cell_type": "code", "id": "dup", "metadata": {}, "source": "d", "outputs": [], "execution_count": null}]}`
	nb, err := Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if !nb.HasOutputs() {
		t.Fatal("premise: the sample has outputs")
	}
	nb.Normalize()
	if nb.HasOutputs() {
		t.Error("outputs survived Normalize")
	}
	c := nb.Cells[0]
	if _, ok := c.Metadata["execution"]; ok || c.Metadata["tags"] == nil || c.Source != "a\nb" {
		t.Errorf("cell after Normalize: %+v", c)
	}
	if nb.Cells[1].ID == nb.Cells[2].ID {
		t.Error("duplicate cell ids were kept")
	}
	ks := nb.Metadata["kernelspec"].(map[string]any)
	if ks["name"] != "gonb" || nb.Metadata["title"] != "x" || nb.NBFormatMinor != 5 {
		t.Errorf("metadata after Normalize: %v", nb.Metadata)
	}
}

func TestBadInputIsAClearError(t *testing.T) {
	for name, text := range map[string]string{
		"text before the first cell": "oops\n##cell code\nx",
		"an unknown cell type":       "##cell python\nx",
		"metadata that is not JSON":  "##cell code {nope}\nx",
	} {
		if _, err := ParseText(text); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	for name, data := range map[string]string{
		"not JSON":          "{",
		"an old format":     `{"nbformat": 3, "cells": []}`,
		"a source of words": `{"nbformat": 4, "cells": [{"cell_type": "code", "source": 42}]}`,
	} {
		if _, err := Parse([]byte(data)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestBootstrapIsOneCellThatStopsOutsideTheRepository(t *testing.T) {
	for _, want := range []string{"!*", "%noautoget", `import "github.com/dsgym/dsgym/pkg/nb"`, "nb.Ready()", "not inside the dsgym repository", "go mod edit -require=github.com/dsgym/dsgym@", `cp "$ROOT/go.sum" go.sum`} {
		if !strings.Contains(BootstrapSource, want) {
			t.Errorf("bootstrap lacks %q", want)
		}
	}
	var m map[string]any
	b, _ := json.Marshal(BootstrapMetadata())
	_ = json.Unmarshal(b, &m)
	if m["dsgym"].(map[string]any)["role"] != "bootstrap" {
		t.Errorf("bootstrap metadata = %v", m)
	}
}
