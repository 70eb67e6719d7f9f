package saga

import (
	"fmt"
	"strconv"
)

type result uint8

const (
	resOK result = iota + 1
	resRefused
	resFailed
)

type request struct {
	saga int32
	step int
	undo bool
	key  string
}

type reply struct {
	saga int32
	step int
	undo bool
	key  string
	res  result
}

type evKind uint8

const (
	evDone evKind = iota + 1
	evFailed
	evUndone
)

type event struct {
	id   string
	saga int32
	step int
	kind evKind
}

type publish struct{ ev event }
type pubAck struct{ id string }
type deliver struct{ ev event }
type deliverAck struct{ id string }

func (c *Cluster) describe(v any) string {
	name, evName := c.stepName, c.eventName
	switch m := v.(type) {
	case request:
		if m.undo {
			return "undo " + name(m.step) + " [" + m.key + "]"
		}
		return "do " + name(m.step) + " [" + m.key + "]"
	case reply:
		what := "done"
		switch m.res {
		case resRefused:
			what = "refused"
		case resFailed:
			what = "failed"
		}
		if m.undo {
			return "undo " + name(m.step) + ": " + what
		}
		return name(m.step) + ": " + what
	case publish:
		return "publish " + evName(m.ev)
	case pubAck:
		return "stored"
	case deliver:
		return evName(m.ev)
	case deliverAck:
		return "ack"
	}
	return fmt.Sprint(v)
}

func (c *Cluster) stepName(step int) string {
	if step >= 0 && step < len(c.cfg.Steps) {
		return c.cfg.Steps[step]
	}
	return "step" + strconv.Itoa(step)
}

func (c *Cluster) eventName(e event) string {
	name := c.stepName
	switch e.kind {
	case evDone:
		return name(e.step) + " done"
	case evFailed:
		return name(e.step) + " failed"
	case evUndone:
		return name(e.step) + " undone"
	}
	return "event"
}
