package spark

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// UI reads the Spark UI's monitoring REST API (/api/v1).
type UI struct {
	// BaseURL is the UI's address, like http://127.0.0.1:4040.
	BaseURL string
	// Client makes the requests; NewUI gives it a ReachTimeout timeout.
	Client *http.Client
}

// NewUI returns a client for the Spark UI at baseURL (empty means
// DefaultUI); UIURL() reads it from UIEnv.
func NewUI(baseURL string) *UI {
	baseURL = strings.TrimRight(strings.TrimSpace(baseURL), "/")
	if baseURL == "" {
		baseURL = DefaultUI
	}
	return &UI{BaseURL: baseURL, Client: &http.Client{Timeout: ReachTimeout}}
}

// UINotAnsweringError says the Spark UI did not answer a request.
type UINotAnsweringError struct {
	URL string // the request that failed
	Err error
}

// Error is one sentence naming the UI, UIEnv and the make target.
func (e *UINotAnsweringError) Error() string {
	return fmt.Sprintf("the Spark UI is not answering at %s (%s): start Spark with make spark (%v)", e.URL, UIEnv, e.Err)
}

// Unwrap returns the request error.
func (e *UINotAnsweringError) Unwrap() error { return e.Err }

// get decodes the JSON at BaseURL/api/v1/path into v.
func (u *UI) get(ctx context.Context, path string, v any) error {
	full := u.BaseURL + "/api/v1/" + strings.TrimLeft(path, "/")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, full, nil)
	if err != nil {
		return err
	}
	resp, err := u.Client.Do(req)
	if err != nil {
		return &UINotAnsweringError{URL: full, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return fmt.Errorf("GET %s: %s: %s", full, resp.Status, strings.TrimSpace(string(body)))
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("GET %s: decode: %w", full, err)
	}
	return nil
}

// Applications lists the applications the UI knows (a Spark Connect server
// is one application).
func (u *UI) Applications(ctx context.Context) ([]Application, error) {
	var apps []Application
	err := u.get(ctx, "applications", &apps)
	return apps, err
}

// App returns the id of the running application, the first one listed when
// none is marked running.
func (u *UI) App(ctx context.Context) (string, error) {
	apps, err := u.Applications(ctx)
	if err != nil {
		return "", err
	}
	if len(apps) == 0 {
		return "", errors.New("the Spark UI lists no application")
	}
	for _, a := range apps {
		for _, at := range a.Attempts {
			if !at.Completed {
				return a.ID, nil
			}
		}
	}
	return apps[0].ID, nil
}

// Jobs lists the application's jobs, newest first.
func (u *UI) Jobs(ctx context.Context, app string) ([]Job, error) {
	var jobs []Job
	err := u.get(ctx, "applications/"+url.PathEscape(app)+"/jobs", &jobs)
	return jobs, err
}

// Stages lists the application's completed stage attempts, newest first.
func (u *UI) Stages(ctx context.Context, app string) ([]Stage, error) {
	var stages []Stage
	err := u.get(ctx, "applications/"+url.PathEscape(app)+"/stages?status=complete", &stages)
	return stages, err
}

// Tasks lists every task of one stage attempt (up to 10,000), with their
// raw metrics.
func (u *UI) Tasks(ctx context.Context, app string, stage, attempt int) ([]Task, error) {
	var tasks []Task
	path := fmt.Sprintf("applications/%s/stages/%d/%d/taskList?length=10000", url.PathEscape(app), stage, attempt)
	err := u.get(ctx, path, &tasks)
	return tasks, err
}

// SQL lists the application's SQL executions with their physical plans and
// operator metrics.
func (u *UI) SQL(ctx context.Context, app string) ([]Execution, error) {
	var ex []Execution
	err := u.get(ctx, "applications/"+url.PathEscape(app)+"/sql?details=true&planDescription=true", &ex)
	return ex, err
}
