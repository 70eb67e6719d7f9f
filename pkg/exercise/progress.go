package exercise

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/dsgym/dsgym/pkg/nb"
)

// Status of one exercise in the progress file.
type Status struct {
	// Passed is true once every check passed at least once.
	Passed bool `json:"passed"`
	// Best is the most checks passed in one run, of Total.
	Best  int `json:"best"`
	Total int `json:"total"`
	// Last is the result of the latest run: checks passed in it.
	Last       int       `json:"last"`
	Runs       int       `json:"runs"`
	HintsSeen  int       `json:"hints_seen,omitempty"`
	FirstPass  time.Time `json:"first_pass,omitempty"`
	LastRun    time.Time `json:"last_run"`
	LastSource string    `json:"last_source,omitempty"`
	// SolutionShown records that the reference was displayed.
	SolutionShown bool `json:"solution_shown,omitempty"`
}

// Progress is the learner's local progress: one [Status] per exercise id.
type Progress struct {
	Version   int                `json:"version"`
	Exercises map[string]*Status `json:"exercises"`
}

// ProgressPath returns where progress is kept: $DSGYM_PROGRESS, else
// .dsgym/progress.json in the repository.
func ProgressPath() (string, error) {
	if p := os.Getenv("DSGYM_PROGRESS"); p != "" {
		return p, nil
	}
	root, err := nb.Root()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".dsgym", "progress.json"), nil
}

// Warn is where one-line warnings go (a corrupt progress file, say).
var Warn = func(msg string) { fmt.Fprintln(os.Stderr, "dsgym: "+msg) }

// LoadProgress reads the progress file. A missing file is empty progress; a
// corrupt one is moved aside (nothing is deleted) and replaced by empty
// progress, with a one-line warning.
func LoadProgress() (*Progress, error) {
	path, err := ProgressPath()
	if err != nil {
		return nil, err
	}
	return loadProgress(path)
}

func loadProgress(path string) (*Progress, error) {
	p := &Progress{Version: 1, Exercises: map[string]*Status{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading progress: %w", err)
	}
	if err := json.Unmarshal(data, p); err != nil || p.Exercises == nil {
		aside := fmt.Sprintf("%s.corrupt-%s", path, time.Now().Format("20060102-150405"))
		if rerr := os.Rename(path, aside); rerr != nil {
			return nil, fmt.Errorf("progress file %s is corrupt and could not be moved aside: %w", path, rerr)
		}
		Warn(fmt.Sprintf("progress file %s was unreadable; kept it as %s and started a new one", path, aside))
		return &Progress{Version: 1, Exercises: map[string]*Status{}}, nil
	}
	return p, nil
}

// UpdateProgress loads the progress file, applies fn and writes it back
// atomically.
func UpdateProgress(fn func(p *Progress)) error {
	path, err := ProgressPath()
	if err != nil {
		return err
	}
	p, err := loadProgress(path)
	if err != nil {
		return err
	}
	fn(p)
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".progress-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func (p *Progress) status(id string) *Status {
	s := p.Exercises[id]
	if s == nil {
		s = &Status{}
		p.Exercises[id] = s
	}
	return s
}

// Record adds a report's result to the progress file. source says where it
// ran ("notebook", "cli").
func Record(rep Report, source string) error {
	return UpdateProgress(func(p *Progress) {
		s := p.status(rep.Exercise)
		now := time.Now().UTC().Truncate(time.Second)
		s.Runs++
		s.Total = len(rep.Results)
		s.Last = rep.Passed()
		s.Best = max(s.Best, s.Last)
		s.LastRun = now
		s.LastSource = source
		if rep.OK() && !s.Passed {
			s.Passed = true
			s.FirstPass = now
		}
	})
}

// RecordHint notes that hint level was shown for exercise id.
func RecordHint(id string, level int) error {
	return UpdateProgress(func(p *Progress) {
		s := p.status(id)
		s.HintsSeen = max(s.HintsSeen, level)
	})
}

// RecordSolutionShown notes that the reference solution was displayed.
func RecordSolutionShown(id string) error {
	return UpdateProgress(func(p *Progress) { p.status(id).SolutionShown = true })
}
