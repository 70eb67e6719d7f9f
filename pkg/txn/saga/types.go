// Package saga runs sagas on the deterministic simulator of package sim:
// one logical transaction across services as a sequence of local
// transactions, each with a compensating action.
//
// Two ways to coordinate them:
//
//   - Orchestration: an orchestrator calls the services in order (Order,
//     then Inventory, then Billing). It writes every step's result to a
//     durable saga log before moving on, so that when it crashes it resumes
//     from the log. When a step fails it compensates the steps that took
//     effect, last one first. Requests carry idempotency keys: a retried
//     request (after a timeout, a lost reply, a duplicate on the network, a
//     restart) has one effect. A compensation that keeps failing is parked
//     for a reconciliation job that retries it later.
//   - Choreography: no orchestrator; each service reacts to the previous
//     one's event on an event bus and publishes its own. With the
//     transactional outbox a service writes its state change and the event
//     in one local transaction and a relay publishes the event afterwards,
//     so a crash cannot lose it; without it (a "dual write"), a crash
//     between the commit and the publish strands the saga.
//
// Every effect a service applies is recorded with its virtual time, so the
// checker ([CheckOutcome]) can judge what really happened: each saga completed,
// or every step that took effect was compensated, in reverse order, and no
// request had two effects.
package saga

import "fmt"

// DefaultSteps are the services of the interview question, in saga order.
var DefaultSteps = []string{"order", "inventory", "billing"}

// Orchestrator is the orchestrator's node name; Bus is the event bus's.
const (
	Orchestrator = "orchestrator"
	Bus          = "bus"
)

// Actions names what each default step does and how it is undone.
var Actions = map[string][2]string{
	"order":     {"create order", "cancel order"},
	"inventory": {"reserve stock", "release stock"},
	"billing":   {"charge card", "refund"},
}

// Progress is what the orchestrator knows of a saga it is compensating,
// rebuilt from its saga log.
type Progress struct {
	// SagaID identifies the saga, e.g. "s1".
	SagaID string
	// Steps are the saga's steps in forward order.
	Steps []string
	// Done are the steps that took effect, in the order they completed.
	Done []string
	// Compensated are the steps already compensated, in order.
	Compensated []string
	// Attempt is how many times the pending compensation request was sent
	// already (0 for the first send, 1 for the first retry, ...).
	Attempt int
}

// Compensation is one compensating request: undo Step, with an idempotency
// key that the service remembers, so that a request it already applied is
// answered again without a second effect.
type Compensation struct {
	Step string
	Key  string
}

// String formats the request, e.g. "undo billing (key s1/billing/undo)".
func (c Compensation) String() string {
	return fmt.Sprintf("undo %s (key %s)", c.Step, c.Key)
}

// CompensateFunc chooses the next compensation of a failed saga (exercise
// txn/compensate); ok is false when nothing is left to compensate.
type CompensateFunc = func(p Progress) (c Compensation, ok bool)

// DoKey is the idempotency key of a forward step: the saga and the step.
func DoKey(sagaID, step string) string { return sagaID + "/" + step + "/do" }
