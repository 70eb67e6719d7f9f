package spark

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// pollEvery is how often SessionStages asks the UI again.
const pollEvery = 100 * time.Millisecond

// LastJob returns the highest job id the application has run, -1 before its
// first job. Take it before a query, then pass it to SessionStages.
func (u *UI) LastJob(ctx context.Context, app string) (int, error) {
	jobs, err := u.Jobs(ctx, app)
	if err != nil {
		return 0, err
	}
	last := -1
	for _, j := range jobs {
		last = max(last, j.JobID)
	}
	return last, nil
}

// SessionJobs returns the jobs after job id after that a Session (by its
// Tag) ran, oldest first.
func (u *UI) SessionJobs(ctx context.Context, app, tag string, after int) ([]Job, error) {
	jobs, err := u.Jobs(ctx, app)
	if err != nil {
		return nil, err
	}
	var out []Job
	for _, j := range jobs {
		if j.JobID > after && hasSessionTag(j, tag) {
			out = append(out, j)
		}
	}
	slices.SortFunc(out, func(a, b Job) int { return a.JobID - b.JobID })
	return out, nil
}

// hasSessionTag reports whether Spark Connect ran j for the user id tag: its
// operation tags read SparkConnect_OperationTag_User_<tag>_Session_...
func hasSessionTag(j Job, tag string) bool {
	for _, t := range j.JobTags {
		if strings.Contains(t, "_User_"+tag+"_Session_") {
			return true
		}
	}
	return false
}

// SessionStages returns the completed stages of the jobs that the Session
// with Tag tag ran after job id after (see LastJob), oldest first. The UI
// learns about a job a moment after the query returns, so it waits, up to
// ctx's deadline or 10 s, until at least one such job is there and none is
// still running. Stages that a job skipped (their shuffle output was
// reused) are not in the list.
func (u *UI) SessionStages(ctx context.Context, app, tag string, after int) ([]Stage, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		jobs, err := u.SessionJobs(ctx, app, tag, after)
		if err != nil {
			return nil, err
		}
		if len(jobs) > 0 && !slices.ContainsFunc(jobs, func(j Job) bool { return j.Status == "RUNNING" }) {
			return u.stagesOf(ctx, app, jobs)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("the Spark UI shows no finished job of session %s after job %d: %w", tag, after, ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}

// stagesOf returns the completed stages of jobs, by stage id.
func (u *UI) stagesOf(ctx context.Context, app string, jobs []Job) ([]Stage, error) {
	want := map[int]bool{}
	for _, j := range jobs {
		for _, id := range j.StageIDs {
			want[id] = true
		}
	}
	all, err := u.Stages(ctx, app)
	if err != nil {
		return nil, err
	}
	var out []Stage
	for _, s := range all {
		if want[s.StageID] {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b Stage) int {
		if a.StageID != b.StageID {
			return a.StageID - b.StageID
		}
		return a.AttemptID - b.AttemptID
	})
	return out, nil
}
